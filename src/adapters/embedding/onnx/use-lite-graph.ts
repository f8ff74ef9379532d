import { attribute, OnnxGraph } from './onnx-graph.js';
import type { UseLiteFiles } from './use-lite-files.js';

/** Names of the ONNX model's inputs and output. */
export const USE_LITE_GRAPH = {
  /** int64 [batch, tokens]: word-piece ids, any value where the mask is 0. */
  tokenIds: 'token_ids',
  /** float32 [batch, tokens]: 1 for a real token, 0 for padding; real tokens come first. */
  tokenMask: 'token_mask',
  /** float32 [batch, 512]: unit vectors. */
  embeddings: 'embeddings',
} as const;

const ENCODE = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const KERNELS = 'module/Encoder_en/KonaTransformer/Encode/';

/** Facts about the network that the ONNX model is built from, read from the bundled weights. */
export interface UseLiteShape {
  /** Longest input, in word pieces; the encoder ignores pieces past it. */
  readonly maxTokens: number;
  readonly dimensions: number;
}

export interface UseLiteGraphOptions {
  /**
   * Weights of the dense layers (attention projections and feed-forward) as 8-bit integers, one
   * scale per output column, multiplied in integers with the input quantised on the fly (one scale
   * per call, so texts are run one by one). About 2.5 times faster on a CPU; vectors within cosine
   * 0.998 of the 32-bit graph's. Default false.
   */
  readonly int8?: boolean;
}

/**
 * Universal Sentence Encoder Lite as an ONNX model, built from the weights bundled for TF.js. It is
 * the same network, step for step, as the TF.js graph (a two-layer transformer over word pieces,
 * mean pooling, a tanh layer, L2 normalisation), written densely: padding is masked out of
 * attention and pooling instead of being gathered away, which leaves real tokens' values unchanged.
 * Quirks of the original are kept, such as its first layer's input being twice the piece embedding
 * plus the timing signal.
 */
export function buildUseLiteGraph(files: UseLiteFiles, options: UseLiteGraphOptions = {}): { model: Uint8Array; shape: UseLiteShape } {
  const scalar = (name: string): number => {
    const value = files.weight(name).values[0];
    if (value === undefined) throw new RangeError(`${name} is empty`);
    return value;
  };
  const maxTokens = scalar('module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y');
  const epsilon = scalar(`${ENCODE}TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
  const paddingBias = scalar(
    `${ENCODE}TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`,
  );

  const graph = new OnnxGraph('use_lite');
  const weight = (name: string): string => {
    const { values, shape } = files.weight(name);
    return graph.constant(values, kernelShape(shape), 'w');
  };
  const ints = (values: readonly number[]): string =>
    graph.constant(BigInt64Array.from(values, (value) => BigInt(value)), [values.length], 'shape');
  const number = (value: number): string => graph.constant(Float32Array.of(value), [], 'number');
  const matMul = (input: string, kernel: string): string => {
    if (options.int8 !== true) return graph.op('MatMul', [input, weight(kernel)]);
    const { values, shape } = files.weight(kernel);
    const [rows = 0, columns = 0] = kernelShape(shape);
    const { weights, scales } = quantisePerColumn(values, rows, columns);
    // The input is quantised as it comes, with one scale for the whole tensor: a text's vector
    // depends on the texts run with it, so the model runs texts one at a time in this form. ONNX
    // Runtime fuses these nodes into one integer matrix product.
    const [inputInts = '', inputScale = '', inputZero = ''] = graph.opMany('DynamicQuantizeLinear', [input], 3);
    // Weights travel as unsigned bytes around a zero point of 128. On x86 CPUs without VNNI, ONNX
    // Runtime multiplies unsigned inputs by signed weights with an instruction that adds pairs of
    // products in 16 bits, which saturate (255 × 127 × 2 > 32,767) and move the vectors away from
    // the original's; unsigned by unsigned takes a path that does not.
    const unsignedWeights = Uint8Array.from(weights, (value) => value + WEIGHT_ZERO_POINT);
    const product = graph.op('MatMulInteger', [
      inputInts,
      graph.constant(unsignedWeights, [rows, columns], 'w8'),
      inputZero,
      graph.constant(Uint8Array.of(WEIGHT_ZERO_POINT), [], 'w8zero'),
    ]);
    const scale = graph.op('Mul', [inputScale, graph.constant(scales, [columns], 'w8scale')]);
    return graph.op('Mul', [graph.op('Cast', [product], { to: attribute.elementType('float32') }), scale]);
  };
  const dense = (input: string, kernel: string, bias: string): string => graph.op('Add', [matMul(input, kernel), weight(bias)]);
  const layerNorm = (input: string, prefix: string): string =>
    graph.op(
      'LayerNormalization',
      [input, weight(`${prefix}layer_norm_scale/ConcatPartitions/concat`), weight(`${prefix}layer_norm_bias/ConcatPartitions/concat`)],
      { axis: attribute.int(-1), epsilon: attribute.float(epsilon) },
    );

  const ids = graph.input(USE_LITE_GRAPH.tokenIds, 'int64', ['batch', 'tokens']);
  const mask = graph.input(USE_LITE_GRAPH.tokenMask, 'float32', ['batch', 'tokens']);

  // Input: piece embeddings plus the sinusoidal timing signal of each position.
  const embedded = graph.op('Gather', [weight('module/Embeddings_en'), ids]);
  const tokens = graph.op('Shape', [ids], { start: attribute.int(1), end: attribute.int(2) });
  const timing = graph.op('Slice', [timingTable(graph, files, maxTokens), ints([0]), tokens, ints([0])]);
  const layerInput = graph.op('Add', [embedded, graph.op('Add', [embedded, timing])]);

  // Attention bias: 0 for real keys, a large negative number for padding; [batch, 1, 1, tokens].
  const notMask = graph.op('Sub', [number(1), mask]);
  const keyBias = graph.op('Unsqueeze', [graph.op('Mul', [notMask, number(paddingBias)]), ints([1, 2])]);

  let hidden = layerInput;
  for (const layer of [0, 1]) {
    const stack = `${ENCODE}TransformerStack/Layer_${layer}/TransformerLayer/`;
    const own = `${ENCODE}Layer_${layer}/TransformerLayer/`;
    const attention = `${stack}MultiheadAttention/`;
    const headDepth = scalar(`${attention}split_heads/split_last_dimension/Reshape/shape/3`);
    const width = files.weight(`${own}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`).shape[0] ?? 0;
    const modelWidth = width / 3;
    const heads = modelWidth / headDepth;

    const normalised = layerNorm(hidden, `${own}layer_prepostprocess/layer_norm/`);
    const qkv = matMul(normalised, `${KERNELS}Layer_${layer}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`);
    const qkvBiased = graph.op('Add', [qkv, weight(`${own}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`)]);
    const [query, key, value] = graph.opMany('Split', [qkvBiased, ints([modelWidth, modelWidth, modelWidth])], 3, {
      axis: attribute.int(2),
    });
    const splitHeads = (input: string | undefined, perm: readonly number[]): string =>
      graph.op('Transpose', [graph.op('Reshape', [input ?? '', ints([0, 0, heads, headDepth])])], { perm: attribute.ints(perm) });
    const scaledQuery = graph.op('Mul', [splitHeads(query, [0, 2, 1, 3]), number(scalar(`${attention}mul/y`))]);
    const logits = graph.op('Add', [graph.op('MatMul', [scaledQuery, splitHeads(key, [0, 2, 3, 1])]), keyBias]);
    const weights = graph.op('Softmax', [logits], { axis: attribute.int(-1) });
    const context = graph.op('MatMul', [weights, splitHeads(value, [0, 2, 1, 3])]);
    const combined = graph.op('Reshape', [
      graph.op('Transpose', [context], { perm: attribute.ints([0, 2, 1, 3]) }),
      ints([0, 0, modelWidth]),
    ]);
    const attended = dense(
      combined,
      `${KERNELS}Layer_${layer}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
      `${own}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`,
    );
    // The first layer widens the residual path with a dense layer of its own.
    const residual =
      layer === 0
        ? dense(hidden, `${own}dense/kernel/ConcatPartitions/concat`, `${own}dense/bias/ConcatPartitions/concat`)
        : hidden;
    const afterAttention = graph.op('Add', [attended, residual]);

    const ffnInput = layerNorm(afterAttention, `${own}FFN/layer_prepostprocess/layer_norm/`);
    const expanded = graph.op('Relu', [
      dense(ffnInput, `${stack}FFN/conv1/Tensordot/Reshape_1`, `${own}FFN/conv1/bias/ConcatPartitions/concat`),
    ]);
    const projected = dense(expanded, `${stack}FFN/conv2/Tensordot/Reshape_1`, `${own}FFN/conv2/bias/ConcatPartitions/concat`);
    hidden = graph.op('Add', [projected, afterAttention]);
  }

  // Mean over real tokens (at least one, so an empty text gives the tanh layer's bias).
  const masked = graph.op('Mul', [hidden, graph.op('Unsqueeze', [mask, ints([2])])]);
  const summed = graph.op('ReduceSum', [masked, ints([1])], { keepdims: attribute.int(0) });
  const count = graph.op('Max', [graph.op('ReduceSum', [mask, ints([1])], { keepdims: attribute.int(1) }), number(1)]);
  const pooled = graph.op('Div', [summed, count]);
  const encoded = graph.op('Tanh', [
    dense(pooled, 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias'),
  ]);
  const squares = graph.op('ReduceSum', [graph.op('Mul', [encoded, encoded]), ints([1])], { keepdims: attribute.int(1) });
  const minimumSquares = scalar('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y');
  const unit = graph.op('Mul', [encoded, graph.op('Reciprocal', [graph.op('Sqrt', [graph.op('Max', [squares, number(minimumSquares)])])])]);
  const dimensions = files.weight('module/Encoder_en/hidden_layers/tanh_layer_0/bias').shape[0] ?? 0;
  graph.output(unit, USE_LITE_GRAPH.embeddings, 'float32', ['batch', dimensions]);

  return { model: graph.encode({ opset: 17, producer: 'engram' }), shape: { maxTokens, dimensions } };
}

/** A weight's shape as the graph uses it: a four-dimensional [1, 1, in, out] kernel as [in, out]. */
function kernelShape(shape: readonly number[]): readonly number[] {
  return shape.length === 4 ? shape.slice(2) : shape;
}

/** The zero point of the unsigned 8-bit weights: a signed weight w is stored as w + 128. */
const WEIGHT_ZERO_POINT = 128;

/**
 * Symmetric 8-bit weights of a [rows, columns] matrix, one scale per column (the largest magnitude
 * in the column maps to 127), so a column of small weights keeps its precision.
 */
export function quantisePerColumn(values: Float32Array, rows: number, columns: number): { weights: Int8Array; scales: Float32Array } {
  if (values.length !== rows * columns) throw new RangeError(`${values.length} values for a ${rows}×${columns} matrix`);
  const scales = new Float32Array(columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      scales[column] = Math.max(scales[column] ?? 0, Math.abs(values[row * columns + column] ?? 0));
    }
  }
  for (let column = 0; column < columns; column++) {
    const scale = Math.fround((scales[column] ?? 0) / 127);
    scales[column] = scale > 0 ? scale : 1; // a column of zeros (or of values too small to scale)
  }
  const weights = new Int8Array(rows * columns);
  for (let index = 0; index < weights.length; index++) {
    weights[index] = Math.round((values[index] ?? 0) / (scales[index % columns] ?? 1));
  }
  return { weights, scales };
}

/** sin and cos of position × each inverse timescale, for every position the encoder reads. */
function timingTable(graph: OnnxGraph, files: UseLiteFiles, maxTokens: number): string {
  const inverse = files.weight(`${ENCODE}TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`).values;
  const width = inverse.length * 2;
  const table = new Float32Array(maxTokens * width);
  for (let position = 0; position < maxTokens; position++) {
    for (let k = 0; k < inverse.length; k++) {
      const angle = Math.fround(position * (inverse[k] ?? 0));
      table[position * width + k] = Math.sin(angle);
      table[position * width + inverse.length + k] = Math.cos(angle);
    }
  }
  return graph.constant(table, [maxTokens, width], 'timing');
}
