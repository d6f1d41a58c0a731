// Unpacks a TensorFlow.js graph model that a package ships as JavaScript
// modules (nsfwjs's dist/models/NAME/model.min.js, whose export is the
// model.json object, and group1-shardKofN.min.js, whose export is the
// shard's bytes in base64) into the usual model.json + binary shards, so
// that `classify import-tfjs` and scripts/tfjs-reference.js read it like
// any other graph model.
//
//   node scripts/tfjs-unpack.js SRC_DIR OUT_DIR
const fs = require('fs');
const path = require('path');
const [src, out] = process.argv.slice(2);
if (!src || !out) { console.error('usage: node tfjs-unpack.js SRC_DIR OUT_DIR'); process.exit(2); }
const model = require(path.resolve(src, 'model.min.js'));
fs.mkdirSync(out, {recursive: true});
for (const g of model.weightsManifest) {
  g.paths = g.paths.map(p => {
    const b64 = require(path.resolve(src, p + '.min.js'));
    if (typeof b64 !== 'string') throw new Error(p + '.min.js does not export a string');
    fs.writeFileSync(path.join(out, p + '.bin'), Buffer.from(b64, 'base64'));
    return p + '.bin';
  });
}
fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(model));
console.log(path.join(out, 'model.json'));
