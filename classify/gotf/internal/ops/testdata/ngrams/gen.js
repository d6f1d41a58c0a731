const tf = require(process.env.HOME + '/.cache/tfjs-oracle/node_modules/@tensorflow/tfjs');
const data = tf.tensor(['a','b','c','d','e','f','g']);
const splits = tf.tensor1d([0,4,4,5,7],'int32');
const cases = [
 {sep:' ', w:[1,2,3], l:'', r:'', pw:0, ps:false},
 {sep:'|', w:[2,3], l:'<', r:'>', pw:-1, ps:false},
 {sep:'_', w:[3], l:'L', r:'R', pw:1, ps:true},
 {sep:'', w:[4], l:'', r:'', pw:0, ps:true},
];
const out = cases.map(c => { const r = tf.string.stringNGrams(data, splits, c.sep, c.w, c.l, c.r, c.pw, c.ps); const n = r.nGrams, s = r.nGramsSplits; return {ngrams: n.arraySync(), splits: s.arraySync()}; });
console.log(JSON.stringify(out));
