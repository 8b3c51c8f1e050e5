// Cross-check of reference.js's face-recognition forward pass against face-api's own code:
// loads @vladmandic/face-api@1.7.15's unbundled ESM build on the same pure-JS tfjs 4.22.0 (CPU),
// feeds it every stored face_recognition case (un-normalised back to 0..255 RGB, since face-api
// normalises itself) and compares the descriptors. Run through check-face-api.sh.
import fs from 'fs';
import path from 'path';

const [faceApiModule, modelDir, referenceFile] = process.argv.slice(2);
const faceapi = await import(faceApiModule);
const { tf } = faceapi;
tf.enableProdMode();
await tf.setBackend('cpu');
await tf.ready();

const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
const bin = fs.readFileSync(path.join(modelDir, 'face_recognition_model.bin'));
const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
faceapi.nets.faceRecognitionNet.loadFromWeightMap(weights);

const raw = fs.readFileSync(referenceFile);
const n = Number(raw.readBigUInt64LE(0));
const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
const get = (key) => {
  const [b, e] = header[key].data_offsets;
  const s = raw.subarray(8 + n + b, 8 + n + e);
  return new Float32Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));
};
const mean = [122.782, 117.001, 104.298];
let worst = 0;
for (const c of header.__metadata__.cases.split(',')) {
  const rgb = get(`${c}.input`).map((v, i) => v * 255 + mean[i % 3]);
  const desc = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(tf.tensor4d(rgb, [1, 150, 150, 3]));
  const ref = get(`${c}.output.0`);
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(desc[i] - ref[i]));
  worst = Math.max(worst, d);
  console.log(`face-api ${faceapi.version} vs reference, ${c}: max abs difference ${d.toExponential(2)}`);
}
if (!(worst < 1e-5)) { console.error(`face-api and reference.js disagree (max ${worst})`); process.exit(1); }
console.log(`ok: face-api's own forward pass matches reference.js (max abs difference ${worst.toExponential(2)})`);
