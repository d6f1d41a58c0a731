const tf = require(process.env.HOME + '/.cache/tfjs-oracle/node_modules/@tensorflow/tfjs');
const strs = [];
for (let n = 0; n <= 140; n++) { let s = ''; for (let i = 0; i < n; i++) s += String.fromCharCode(97 + ((i * 7 + n) % 26)); strs.push(s); }
strs.push('hello world', 'The quick brown fox', '\u00e9t\u00e9');
const a = tf.string.stringToHashBucketFast(tf.tensor(strs), 2147483647).arraySync();
const b = tf.string.stringToHashBucketFast(tf.tensor(strs), 1000003).arraySync();
console.log(JSON.stringify({a, b}));
