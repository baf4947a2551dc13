// The numeric half of tests/onnx/run.sh: ONNX Runtime (npm onnxruntime-node,
// CPU) runs each case's model.onnx on the case's inputs, and every output
// must match every reference case.json lists for it ("rill": the actors' own
// forward; "torchscript": the TorchScript export's):
//   - float32: max |onnx - reference| over all elements within the output's
//     tolerance, and no NaN on either side;
//   - int64 (discrete actions): the same index in every row, except rows
//     that ties.bin marks (the reference's two best actions within 1e-5 of
//     each other, where either index is right).
// Then again on the first row alone and the first 7 rows, against the same
// references' first rows. The graph's names and types are check_models.py's
// part; here a missing output or one of the wrong type or shape fails too.
//
// Usage: NODE_PATH=<node_modules with onnxruntime-node> node run_models.cjs CASE_OR_FOLDER_OF_CASES...
// Prints `PASS onnxruntime <case>: <figures>` or `FAIL onnxruntime <case>: <why>`
// per case and exits non-zero if any failed.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ARRAYS = { float32: Float32Array, uint8: Uint8Array, int64: BigInt64Array };

function caseFolders(paths) {
  const folders = [];
  for (const p of paths) {
    if (fs.existsSync(path.join(p, 'case.json'))) {
      folders.push(p);
    } else {
      for (const entry of fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (entry.isDirectory()) folders.push(path.join(p, entry.name));
      }
    }
  }
  return folders;
}

// The raw little-endian file as a typed array of exactly prod(shape) elements.
function readArray(folder, file, dtype, shape) {
  const TypedArray = ARRAYS[dtype];
  if (!TypedArray) throw new Error(`${file}: unknown dtype ${dtype}`);
  const bytes = fs.readFileSync(path.join(folder, file));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * TypedArray.BYTES_PER_ELEMENT) {
    throw new Error(`${file} has ${bytes.length} bytes, want ${count} ${dtype} of shape [${shape}]`);
  }
  // A copy: a Buffer's offset need not be aligned to the element size.
  return new TypedArray(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

// 3.1e-07, as C's %.1e writes it.
const fmt = (x) => x.toExponential(1).replace(/e([+-])(\d)$/, 'e$10$2');

// Compares one output with one reference: returns its figure ("max |onnx -
// rill| 3.1e-07", "0 of 1000 actions differ from rill") and what is wrong,
// or null.
function compare(output, got, want, ties, reference) {
  if (output.dtype === 'int64') {
    let differ = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i] && !(ties && ties[i])) differ++;
    const figure = `${differ} of ${got.length} actions differ from ${reference}`;
    return [figure, differ ? `${output.name}: ${figure}` : null];
  }
  let max = 0;
  let nans = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (Number.isNaN(d)) nans++;
    else if (d > max) max = d;
  }
  const figure = `max |onnx - ${reference}| ${fmt(max)}`;
  if (nans) return [figure, `${output.name}: ${nans} NaN element(s) against ${reference}`];
  if (max > output.tolerance) return [figure, `${output.name}: ${figure} > tolerance ${fmt(output.tolerance)}`];
  return [figure, null];
}

// Runs the model on the first `rows` rows of the inputs; returns one figure
// per output and what is wrong.
async function runRows(session, c, inputs, references, ties, rows) {
  const feeds = {};
  for (const [input, data] of inputs) {
    feeds[input.name] = new ort.Tensor(input.dtype, data.subarray(0, (data.length / c.rows) * rows),
                                       [rows, ...input.shape.slice(1)]);
  }
  const results = await session.run(feeds);
  const figures = [];
  const errors = [];
  for (const output of c.outputs) {
    const result = results[output.name];
    const dims = [rows, ...output.shape.slice(1)];
    if (!result) {
      errors.push(`no output ${output.name} (the model's: ${session.outputNames.join(', ')})`);
      continue;
    }
    if (result.type !== output.dtype || result.dims.join() !== dims.join()) {
      errors.push(`${output.name} is ${result.type} [${result.dims}], want ${output.dtype} [${dims}]`);
      continue;
    }
    const perReference = [];
    for (const [reference, want] of references.get(output)) {
      const [figure, error] = compare(output, result.data, want.subarray(0, result.data.length), ties, reference);
      perReference.push(figure);
      if (error) errors.push(error);
    }
    const tieCount = ties && output.dtype === 'int64' ? ` (${ties.subarray(0, rows).reduce((a, b) => a + b, 0)} ties)` : '';
    figures.push(`${c.outputs.length > 1 ? `${output.name}: ` : ''}${perReference.join(', ')}${tieCount}`);
  }
  return [figures, errors];
}

// All rows, then the first row alone and the first 7: a batch dimension that
// is symbolic in name only (a Reshape to 1000 rows, a Squeeze that drops it
// at 1) shows there.
async function run(folder) {
  const c = JSON.parse(fs.readFileSync(path.join(folder, 'case.json'), 'utf8'));
  let session;
  try {
    session = await ort.InferenceSession.create(path.join(folder, 'model.onnx'));
  } catch (e) {
    throw new Error(`model.onnx does not load: ${e.message}`);
  }
  const inputs = c.inputs.map((input) => [input, readArray(folder, input.file, input.dtype, input.shape)]);
  const references = new Map();
  for (const output of c.outputs) {
    if (!Object.keys(output.expected || {}).length || (output.dtype === 'float32' && !(output.tolerance >= 0))) {
      throw new Error(`${output.name}: case.json gives no reference or no tolerance`);
    }
    references.set(output, Object.entries(output.expected).map(
        ([reference, file]) => [reference, readArray(folder, file, output.dtype, output.shape)]));
  }
  const ties = c.ties ? readArray(folder, c.ties, 'uint8', [c.rows]) : null;
  const [figures, errors] = await runRows(session, c, inputs, references, ties, c.rows);
  for (const rows of errors.length ? [] : [1, 7]) {
    try {
      const [, batchErrors] = await runRows(session, c, inputs, references, ties, rows);
      errors.push(...batchErrors.map((e) => `at batch ${rows}: ${e}`));
    } catch (e) {
      errors.push(`at batch ${rows}: ${e.message}`);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
  return `${figures.join('; ')} over ${c.rows} observations (and at batch 1 and 7)`;
}

async function main(paths) {
  const folders = caseFolders(paths);
  if (!folders.length) {
    console.log(`FAIL onnxruntime: no case folder in ${paths.join(' ')}`);
    return 1;
  }
  let failed = 0;
  for (const folder of folders) {
    const name = path.basename(folder);
    try {
      console.log(`PASS onnxruntime ${name}: ${await run(folder)}`);
    } catch (e) {
      failed++;
      console.log(`FAIL onnxruntime ${name}: ${e.message.replace(/\s+/g, ' ')}`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.log(`FAIL onnxruntime: ${e.message}`);
  process.exit(1);
});
