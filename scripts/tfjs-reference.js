// Runs an ORIGINAL TensorFlow.js graph model (model.json + its shards, as
// published) with TensorFlow.js's CPU backend on .npy inputs and writes each
// fetched tensor as .npy: the reference that internal/tfjs's converted
// GraphDefs, run by gotf, are checked against.
//
//   NODE_PATH=~/.cache/tfjs-oracle/node_modules \
//   node scripts/tfjs-reference.js MODEL.json --feed NAME=FILE.npy ... --fetch NODE[:N] ... --out DIR [--backend cpu|wasm]
//
// --backend wasm (XNNPACK) gives a second TensorFlow.js run whose
// difference from cpu shows how far float32 summation order alone moves a
// model's outputs.
//
// .npy: <f4 float32, <i4 int32, |u1 uint8 (fed as int32, TensorFlow.js's
// type for DT_UINT8), |b1 bool; outputs are written as float32, int32 or
// bool. Output files are named after the node with every character outside
// [A-Za-z0-9_.-] replaced by "_". Each fetch is its own executeAsync call
// (TensorFlow.js may dispose a fetched tensor another fetch passes through).
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = b.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': Fortran order');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const data = b.subarray(hstart + hlen);
  const n = shape.reduce((a, c) => a * c, 1);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  switch (descr) {
    case '<f4': return tf.tensor(new Float32Array(ab, 0, n), shape, 'float32');
    case '<i4': return tf.tensor(new Int32Array(ab, 0, n), shape, 'int32');
    case '|u1': return tf.tensor(Int32Array.from(new Uint8Array(ab, 0, n)), shape, 'int32');
    case '|b1': return tf.tensor(new Uint8Array(ab, 0, n), shape, 'bool');
    case '<i8': return tf.tensor(Int32Array.from(new BigInt64Array(ab, 0, n), Number), shape, 'int32');
  }
  throw new Error(file + ': unsupported dtype ' + descr);
}

function writeNpy(file, t, data) {
  // The typed array tells what the values are: TensorFlow.js may label a
  // tensor float32 whose data is an Int32Array (NonMaxSuppression indices).
  const descr = t.dtype === 'bool' ? '|b1' : data instanceof Int32Array ? '<i4' : data instanceof Float32Array ? '<f4' : null;
  if (!descr) throw new Error('output dtype ' + t.dtype + ' with ' + data.constructor.name);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  while ((10 + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
  let body;
  if (t.dtype === 'bool') body = Buffer.from(Uint8Array.from(data, v => (v ? 1 : 0)));
  else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
}

(async () => {
  const argv = process.argv.slice(2);
  const modelPath = argv.shift();
  const feeds = {}, fetches = [];
  let out = '.', backend = 'cpu';
  while (argv.length) {
    const flag = argv.shift(), val = argv.shift();
    if (val === undefined) throw new Error('flag ' + flag + ' needs a value');
    if (flag === '--feed') { const i = val.indexOf('='); feeds[val.slice(0, i)] = readNpy(val.slice(i + 1)); }
    else if (flag === '--fetch') fetches.push(val);
    else if (flag === '--out') out = val;
    else if (flag === '--backend') backend = val;
    else throw new Error('unknown flag ' + flag);
  }
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  const m = JSON.parse(fs.readFileSync(modelPath));
  const dir = path.dirname(modelPath);
  // All groups' shards, concatenated in manifest order, as TensorFlow.js's
  // own loader does.
  const specs = [], bufs = [];
  for (const g of m.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
  }
  const w = Buffer.concat(bufs);
  const artifacts = {
    modelTopology: m.modelTopology, weightSpecs: specs,
    weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
    signature: m.signature, userDefinedMetadata: m.userDefinedMetadata};
  // A layers-model (a Keras model_config) runs with tf.loadLayersModel and
  // predict; its inputs and outputs are named by layer.
  const layers = m.format === 'layers-model' || (m.modelTopology && m.modelTopology.model_config);
  const model = layers ? await tf.loadLayersModel(tf.io.fromMemory(artifacts)) : await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  fs.mkdirSync(out, {recursive: true});
  for (const name of fetches) {
    const feed = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.clone()]));
    let t;
    if (layers) {
      const i = model.outputNames.indexOf(name);
      if (i < 0) throw new Error('no output layer ' + name + ' (has ' + model.outputNames + ')');
      const ys = model.predict(model.inputNames.map(n => { if (!feed[n]) throw new Error('no feed for input layer ' + n); return feed[n]; }));
      t = Array.isArray(ys) ? ys[i] : ys;
    } else {
      t = await model.executeAsync(feed, name);
    }
    const file = path.join(out, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy');
    writeNpy(file, t, await t.data());
    console.log(name, t.dtype, JSON.stringify(t.shape), '->', file);
    tf.dispose([t, ...Object.values(feed)]);
  }
})().catch(e => { console.error('tfjs-reference:', e.message); process.exit(1); });
