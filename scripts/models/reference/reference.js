#!/usr/bin/env node
// Reference outputs of iLive's face networks on the original runtime: pure-JS TensorFlow.js
// 4.22.0 on its CPU backend. For every network it writes
//   $ILIVE_FIXTURES_DIR/reference/<net>.safetensors
// holding, per case, the exact input tensor fed to the network (`<case>.input`, f32, NHWC) and
// each output (`<case>.output.<k>`, in the order of the model's outputs). The candle ports in
// models/ feed the stored inputs to their own networks and compare outputs (~1e-3).
//
// Usage: node reference.js   (run.sh sets up everything; environment as in scripts/lib.sh)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const tf = require('@tensorflow/tfjs');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const CACHE = process.env.ILIVE_CACHE || path.join(os.homedir(), '.cache', 'ilive');
const FIXTURES = process.env.ILIVE_FIXTURES_DIR || path.join(CACHE, 'fixtures');
const HUMAN = path.join(CACHE, 'npm', 'human-3.3.6', 'package');
const FACEAPI = path.join(CACHE, 'npm', 'face-api-1.7.15', 'package');
const IMAGES = path.join(FIXTURES, 'images');
const OUT = path.join(FIXTURES, 'reference');
const CROPS = path.join(OUT, 'crops');
const SCRIPT = 'scripts/models/reference/reference.js';
const NOISE_SEED = 20240229;
// Face recognition crop: detector box enlarged x1.15 and squared. Chosen among 1.0/1.15/1.3 as the
// one that best separates the same-person pairs (obama*) from the others on these photos.
const FR_ENLARGE = 1.15;

// ---------------------------------------------------------------------------------------------
// Model loading (from disk only)

function readShards(dir, manifest) {
  const parts = [];
  const specs = [];
  for (const group of manifest) {
    for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return { specs, weightData };
}

// A TF.js graph model from Human's models/ folder, via a custom IO handler.
async function loadGraph(name) {
  const dir = path.join(HUMAN, 'models');
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const { specs, weightData } = readShards(dir, json.weightsManifest);
  const handler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
      weightSpecs: specs,
      weightData,
    }),
  };
  return tf.loadGraphModel(handler);
}

// face-api's face recognition net: a weights manifest without a graph. tf.io.decodeWeights
// dequantises the uint8 entries (value = q * scale + min), exactly as face-api's loader does.
function loadFaceRecognitionWeights() {
  const dir = path.join(FACEAPI, 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
  const { specs, weightData } = readShards(dir, manifest);
  return tf.io.decodeWeights(weightData, specs);
}

// The forward pass of face-api's FaceRecognitionNet (a dlib-style ResNet-29), in TF.js ops,
// mirroring src/faceRecognitionNet/{FaceRecognitionNet,residualLayer,convLayer,scaleLayer}.ts.
// `x` is the already normalised input: (rgb - mean) / 255, 1x150x150x3.
function faceRecognitionForward(w, x) {
  return tf.tidy(() => {
    const layer = (inp, prefix, stride, relu, padding) => {
      let out = tf.conv2d(inp, w[`${prefix}/conv/filters`], stride, padding);
      out = tf.add(out, w[`${prefix}/conv/bias`]);
      out = tf.add(tf.mul(out, w[`${prefix}/scale/weights`]), w[`${prefix}/scale/biases`]);
      return relu ? tf.relu(out) : out;
    };
    const conv = (inp, p) => layer(inp, p, 1, true, 'same');
    const convNoRelu = (inp, p) => layer(inp, p, 1, false, 'same');
    const convDown = (inp, p) => layer(inp, p, 2, true, 'valid');
    const residual = (inp, p) => tf.relu(tf.add(convNoRelu(conv(inp, `${p}/conv1`), `${p}/conv2`), inp));
    const residualDown = (inp, p) => {
      let out = convNoRelu(convDown(inp, `${p}/conv1`), `${p}/conv2`);
      let pooled = tf.avgPool(inp, 2, 2, 'valid');
      if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
        out = tf.concat([out, tf.zeros([out.shape[0], 1, out.shape[2], out.shape[3]])], 1);
        out = tf.concat([out, tf.zeros([out.shape[0], out.shape[1], 1, out.shape[3]])], 2);
      }
      if (pooled.shape[3] !== out.shape[3]) pooled = tf.concat([pooled, tf.zeros(pooled.shape)], 3);
      return tf.relu(tf.add(pooled, out));
    };
    let out = convDown(x, 'conv32_down');
    out = tf.maxPool(out, 3, 2, 'valid');
    for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) out = residual(out, p);
    out = residualDown(out, 'conv64_down');
    for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) out = residual(out, p);
    out = residualDown(out, 'conv128_down');
    for (const p of ['conv128_1', 'conv128_2']) out = residual(out, p);
    out = residualDown(out, 'conv256_down');
    for (const p of ['conv256_1', 'conv256_2']) out = residual(out, p);
    out = residualDown(out, 'conv256_down_out');
    return tf.matMul(tf.mean(out, [1, 2]), w.fc);
  });
}
const FACE_MEAN_RGB = [122.782, 117.001, 104.298];

// ---------------------------------------------------------------------------------------------
// Images (pure-JS decoders) and crops

function readImage(file) {
  const buf = fs.readFileSync(path.join(IMAGES, file));
  let width; let height; let rgba;
  if (file.endsWith('.png')) {
    const png = PNG.sync.read(buf); // always RGBA, 8 bit
    ({ width, height } = png);
    rgba = png.data;
  } else {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    ({ width, height } = img);
    rgba = img.data;
  }
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return { file, width, height, tensor: tf.tensor4d(rgb, [1, height, width, 3]) }; // RGB 0..255
}

// Whole image, centred on a black square and resized (bilinear) to size x size; 0..255.
function letterbox(img, size) {
  const side = Math.max(img.width, img.height);
  const padX = Math.floor((side - img.width) / 2);
  const padY = Math.floor((side - img.height) / 2);
  const t = tf.tidy(() => tf.image.resizeBilinear(
    tf.pad(img.tensor, [[0, 0], [padY, side - img.height - padY], [padX, side - img.width - padX], [0, 0]]),
    [size, size], false, false,
  ));
  return { tensor: t, side, padX, padY };
}

// Crop box [x0, y0, x1, y1] (pixels) of an image tensor 1xHxWxC, bilinear, to size x size.
// Same convention as Human's cutAndResize: normalised box = pixels / (W or H); outside is 0.
function crop(t, box, size) {
  const h = t.shape[1];
  const w = t.shape[2];
  return tf.image.cropAndResize(t, [[box[1] / h, box[0] / w, box[3] / h, box[2] / w]], [0], [size, size], 'bilinear', 0);
}

// Human's enlargeBox then squarifyBox.
function enlargeSquare(box, factor) {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const half = Math.max(factor * (box[2] - box[0]), factor * (box[3] - box[1])) / 2;
  return [Math.round(cx - half), Math.round(cy - half), Math.round(cx + half), Math.round(cy + half)];
}

function savePng(t, file) { // t: 1xHxWx(1|3), values 0..1
  const [, h, w, c] = t.shape;
  const data = t.dataSync();
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    for (let k = 0; k < 3; k++) png.data[4 * i + k] = Math.max(0, Math.min(255, Math.round(255 * data[c * i + (c === 3 ? k : 0)])));
    png.data[4 * i + 3] = 255;
  }
  fs.writeFileSync(path.join(CROPS, file), PNG.sync.write(png));
}

// Fixed-seed uniform noise (mulberry32), drawn in NHWC order, scaled to [lo, hi).
function noise(shape, lo, hi, seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((x, y) => x * y, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * next();
  return tf.tensor(v, shape);
}

// ---------------------------------------------------------------------------------------------
// BlazeFace decoding (as Human's blazeface.ts): the four outputs sorted by size are
// [scores 384, scores 512, boxes 384, boxes 512]; rows are ordered 512 (16x16 grid, 2 anchors
// per cell) then 384 (8x8 grid, 6 per cell). Row: logit, dx, dy, w, h, 6 x (kx, ky), in input
// pixels relative to the anchor centre.
function anchors256() {
  const out = [];
  for (const [stride, count] of [[16, 2], [32, 6]]) {
    const cells = Math.floor((256 + stride - 1) / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let n = 0; n < count; n++) out.push([stride * (gx + 0.5), stride * (gy + 0.5)]);
      }
    }
  }
  return out;
}
const ANCHORS = anchors256();

function decodeBest(outputs) {
  const sorted = [...outputs].sort((a, b) => a.size - b.size);
  const scores = [...sorted[1].dataSync(), ...sorted[0].dataSync()];
  const boxes512 = sorted[3].dataSync();
  const boxes384 = sorted[2].dataSync();
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  const row = best < 512 ? boxes512.slice(16 * best, 16 * best + 16) : boxes384.slice(16 * (best - 512), 16 * (best - 512) + 16);
  const [ax, ay] = ANCHORS[best];
  const cx = row[0] + ax;
  const cy = row[1] + ay;
  const score = 1 / (1 + Math.exp(-scores[best]));
  return { index: best, score, box: [cx - row[2] / 2, cy - row[3] / 2, cx + row[2] / 2, cy + row[3] / 2] };
}

// ---------------------------------------------------------------------------------------------
// safetensors writer: u64 LE header length, JSON header, raw little-endian f32 data.

function writeSafetensors(file, tensors, metadata) {
  if (os.endianness() !== 'LE') throw new Error('this writer assumes a little-endian host');
  const header = {};
  const blobs = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const data = Float32Array.from(t.dataSync());
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align data to 8 bytes
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${file}.part`;
  fs.writeFileSync(tmp, Buffer.concat([len, Buffer.from(json), ...blobs]));
  fs.renameSync(tmp, file);
}

// Collects the cases of one network and writes its file.
class Net {
  constructor(name, source) {
    this.name = name;
    this.source = source;
    this.tensors = [];
    this.cases = [];
    this.meta = {};
    this.outputs = null;
  }

  add(caseName, input, outputs, how) {
    this.cases.push(caseName);
    this.tensors.push([`${caseName}.input`, input]);
    outputs.forEach((o, k) => this.tensors.push([`${caseName}.output.${k}`, o]));
    this.meta[`input.${caseName}`] = how;
  }

  write(outputInfo) {
    const meta = {
      cases: this.cases.join(','),
      source: `${this.source}; ${SCRIPT}`,
      tfjs: `${tf.version_core} ${tf.getBackend()}`,
      layout: 'NHWC float32; <case>.input is exactly what the network is fed; <case>.output.<k> follows output.<k>',
      ...this.meta,
    };
    outputInfo.forEach((info, k) => { meta[`output.${k}`] = JSON.stringify(info); });
    const file = path.join(OUT, `${this.name}.safetensors`);
    writeSafetensors(file, this.tensors, meta);
    return file;
  }
}

// Runs a graph model, returning outputs in the order of model.outputs with their descriptions.
function runGraph(model, input) {
  let res = model.execute(input);
  if (!Array.isArray(res)) res = [res];
  const info = model.outputs.map((o, k) => {
    const sig = model.signature && model.signature.outputs
      ? Object.keys(model.signature.outputs).find((key) => model.signature.outputs[key].name.replace(/:0$/, '') === o.name) : undefined;
    return { node: o.name, ...(sig ? { signature: sig } : {}), shape: res[k].shape };
  });
  return { outputs: res, info };
}

const fmt = (v, d = 4) => (Array.isArray(v) || ArrayBuffer.isView(v) ? `[${Array.from(v).map((x) => x.toFixed(d)).join(', ')}]` : v.toFixed(d));

// ---------------------------------------------------------------------------------------------

async function main() {
  tf.enableProdMode(); // silences the 'install tfjs-node' notice; numerics are unchanged
  await tf.setBackend('cpu');
  await tf.ready();
  fs.mkdirSync(CROPS, { recursive: true });
  const t0 = Date.now();
  const summary = [];
  const say = (s) => { summary.push(s); console.log(s); };

  const models = {};
  for (const n of ['blazeface', 'facemesh', 'antispoof', 'emotion']) models[n] = await loadGraph(n);
  const frWeights = loadFaceRecognitionWeights();
  const source = (n) => `@vladmandic/human@3.3.6 models/${n}.json`;
  const nets = {};
  for (const n of Object.keys(models)) nets[n] = new Net(n, source(n));
  nets.face_recognition = new Net('face_recognition', '@vladmandic/face-api@1.7.15 model/face_recognition_model (forward pass re-implemented after src/faceRecognitionNet/*.ts)');
  const infos = {};
  const run = (net, caseName, input, how) => {
    const { outputs, info } = runGraph(models[net], input);
    infos[net] = info;
    nets[net].add(caseName, input, outputs, how);
    return outputs;
  };

  // 1. Detection on whole images, letterboxed to 256 (also gives the face boxes for the crops).
  const faceImages = {
    astronaut: 'astronaut.png', grace_hopper: 'grace_hopper.jpg',
    obama: 'obama.jpg', obama2: 'obama2.jpg', obama3: 'obama3.jpg', biden: 'biden.jpg',
  };
  const noFaceImages = { coffee: 'coffee.png', chelsea: 'chelsea.png' };
  const images = {};
  const faces = {};
  for (const [key, file] of Object.entries({ ...faceImages, ...noFaceImages })) {
    const img = readImage(file);
    images[key] = img;
    const lb = letterbox(img, 256);
    const input = tf.tidy(() => tf.sub(tf.div(lb.tensor, 127.5), 1));
    const outputs = run('blazeface', `${key}_full`, input,
      `${file} ${img.width}x${img.height}, centred on a black ${lb.side}x${lb.side} square, tf.image.resizeBilinear to 256x256, /127.5 - 1`);
    const best = decodeBest(outputs);
    const k = lb.side / 256;
    const box = best.box.map((v, i) => v * k - (i % 2 === 0 ? lb.padX : lb.padY));
    faces[key] = { score: best.score, box };
    say(`blazeface ${key}_full: best anchor ${best.index} score ${fmt(best.score)} box [${box.map((v) => v.toFixed(1)).join(', ')}] px in ${img.width}x${img.height}`);
  }

  // 2. Human's face crop: detector box x1.4, squared, cropped and resized (bilinear) to 192, /255.
  const faceCrops = {};
  for (const key of ['astronaut', 'grace_hopper']) {
    const img = images[key];
    const box = enlargeSquare(faces[key].box, 1.4);
    const face = tf.tidy(() => tf.div(crop(img.tensor, box, 192), 255));
    faceCrops[key] = { face, box };
    savePng(face, `face_${key}.png`);
    const how = `${img.file}: detector box x1.4 squared = [${box.join(', ')}] px, tf.image.cropAndResize bilinear`;
    // blazeface on the face crop too (the way a selfie frame looks)
    const bfIn = tf.tidy(() => tf.sub(tf.mul(crop(img.tensor, box, 256), 1 / 127.5), 1));
    const bfOut = run('blazeface', key, bfIn, `${how} to 256x256, /127.5 - 1`);
    say(`blazeface ${key} (face crop): best score ${fmt(decodeBest(bfOut).score)}`);

    run('facemesh', key, face, `${how} to 192x192, /255`);
  }
  // facemesh on a face-less crop: the cat's centre square.
  {
    const img = images.chelsea;
    const s = Math.min(img.width, img.height);
    const box = [Math.floor((img.width - s) / 2), 0, Math.floor((img.width - s) / 2) + s, s];
    const t = tf.tidy(() => tf.div(crop(img.tensor, box, 192), 255));
    run('facemesh', 'chelsea', t, `chelsea.png (a cat, no face): centre square [${box.join(', ')}] px, tf.image.cropAndResize bilinear to 192x192, /255`);
  }
  run('facemesh', 'noise', noise([1, 192, 192, 3], 0, 1, NOISE_SEED), `uniform [0,1) noise, mulberry32 seed ${NOISE_SEED}, NHWC order`);
  run('blazeface', 'noise', noise([1, 256, 256, 3], -1, 1, NOISE_SEED), `uniform [-1,1) noise, mulberry32 seed ${NOISE_SEED}, NHWC order`);

  // facemesh summary
  const meshIdx = infos.facemesh.findIndex((i) => i.shape[1] === 1404);
  const flagIdx = infos.facemesh.findIndex((i) => i.shape[1] === 1);
  const caseOut = (net, c, k) => nets[net].tensors.find(([n]) => n === `${c}.output.${k}`)[1];
  for (const c of ['astronaut', 'grace_hopper', 'chelsea', 'noise']) {
    const flag = caseOut('facemesh', c, flagIdx).dataSync()[0];
    const m = caseOut('facemesh', c, meshIdx).dataSync();
    say(`facemesh ${c}: face flag ${fmt(flag)}; nose tip (pt 1) ${fmt([m[3], m[4], m[5]], 1)} in 192 px`);
  }

  // 3. Anti-spoof and emotion: Human resizes the 192 face crop (bilinear).
  for (const key of ['astronaut', 'grace_hopper']) {
    const face = faceCrops[key].face;
    const base = `the 192x192 facemesh input of ${key}, tf.image.resizeBilinear to`;
    const [as] = run('antispoof', key, tf.image.resizeBilinear(face, [128, 128], false), `${base} 128x128; values in [0,1]`);
    const grey = tf.tidy(() => tf.mul(tf.sub(tf.sum(tf.mul(tf.image.resizeBilinear(face, [64, 64], false), tf.tensor1d([0.2989, 0.5870, 0.1140])), 3, true), 0.5), 2));
    const [em] = run('emotion', key, grey, `${base} 64x64, grey = 0.2989 R + 0.5870 G + 0.1140 B, then (grey - 0.5) * 2 (done outside the graph, as Human's emotion.ts)`);
    say(`antispoof ${key}: real ${fmt(as.dataSync()[0])}; emotion ${key}: ${fmt(em.dataSync(), 3)} (index 3 = happy)`);
  }
  run('antispoof', 'noise', noise([1, 128, 128, 3], 0, 1, NOISE_SEED), `uniform [0,1) noise, mulberry32 seed ${NOISE_SEED}, NHWC order`);
  run('emotion', 'noise', noise([1, 64, 64, 1], -1, 1, NOISE_SEED), `uniform [-1,1) noise, mulberry32 seed ${NOISE_SEED}, NHWC order`);

  // 4. Face recognition: detector box x1.15 squared, cropped and resized (bilinear) to 150x150,
  //    then face-api's normalisation (rgb - mean) / 255, which is what the first conv sees.
  const descriptors = {};
  for (const key of Object.keys(faceImages)) {
    const img = images[key];
    const box = enlargeSquare(faces[key].box, FR_ENLARGE);
    const rgb = crop(img.tensor, box, 150);
    savePng(tf.div(rgb, 255), `recognition_${key}.png`);
    const input = tf.tidy(() => tf.div(tf.sub(rgb, tf.tensor1d(FACE_MEAN_RGB)), 255));
    const desc = faceRecognitionForward(frWeights, input);
    descriptors[key] = desc.dataSync();
    nets.face_recognition.add(key, input, [desc], `${img.file}: detector box x${FR_ENLARGE} squared = [${box.join(', ')}] px, tf.image.cropAndResize bilinear to 150x150 (0..255), then (rgb - [${FACE_MEAN_RGB.join(', ')}]) / 255`);
  }
  {
    const input = tf.tidy(() => tf.div(tf.sub(tf.mul(noise([1, 150, 150, 3], 0, 1, NOISE_SEED), 255), tf.tensor1d(FACE_MEAN_RGB)), 255));
    nets.face_recognition.add('noise', input, [faceRecognitionForward(frWeights, input)], `uniform [0,1) noise (mulberry32 seed ${NOISE_SEED}, NHWC order) * 255, then (rgb - mean) / 255`);
  }
  const dist = (a, b) => Math.sqrt(descriptors[a].reduce((s, v, i) => s + (v - descriptors[b][i]) ** 2, 0));
  say(`face_recognition: descriptor distances (dlib same-person cut-off 0.6): ${[
    ['astronaut', 'grace_hopper'], ['obama', 'obama2'], ['obama', 'obama3'], ['obama2', 'obama3'],
    ['obama', 'biden'], ['obama2', 'biden'], ['obama3', 'biden'], ['astronaut', 'obama'],
  ].map(([a, b]) => `${a}~${b} ${dist(a, b).toFixed(3)}`).join(', ')}`);

  // 5. Write the files.
  infos.face_recognition = [{ node: 'matMul(mean(conv256_down_out, [1,2]), fc) of face-api FaceRecognitionNet.forwardInput', shape: [1, 128] }];
  for (const [n, net] of Object.entries(nets)) {
    const file = net.write(infos[n]);
    const shapes = infos[n].map((i) => JSON.stringify(i.shape)).join(' + ');
    say(`${n}: ${net.cases.length} cases (${net.cases.join(', ')}); input ${JSON.stringify(net.tensors[0][1].shape)}; outputs ${shapes} -> ${file}`);
  }
  fs.writeFileSync(path.join(OUT, 'summary.txt'), `${summary.join('\n')}\n`);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
main().catch((e) => { console.error(e); process.exit(1); });
