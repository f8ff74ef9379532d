import { ProtobufWriter } from './protobuf-writer.js';

/** Element types used here, with their ONNX `TensorProto.DataType` numbers. */
const DATA_TYPES = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type ElementType = keyof typeof DATA_TYPES;

/** A dimension: a fixed size, or a name for a size known only when the model runs. */
export type Dimension = number | string;

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] };

export const attribute = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  /** An element type, as Cast's `to` takes it. */
  elementType: (type: ElementType): AttributeValue => ({ kind: 'int', value: DATA_TYPES[type] }),
};

type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

/**
 * Builds an ONNX model in memory, node by node, and encodes it as the bytes an ONNX runtime loads.
 * Names of intermediate values are made up; only inputs and outputs keep the names given.
 */
export class OnnxGraph {
  private readonly nodes: ProtobufWriter[] = [];
  private readonly initializers: ProtobufWriter[] = [];
  private readonly inputs: ProtobufWriter[] = [];
  private readonly outputs: ProtobufWriter[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: ElementType, dims: readonly Dimension[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` (a name returned by `op`) as a model output called `name`. */
  output(value: string, name: string, type: ElementType, dims: readonly Dimension[]): void {
    this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A constant tensor stored in the model. */
  constant(data: TensorData, dims: readonly number[], hint = 'const'): string {
    const expected = dims.reduce((product, size) => product * size, 1);
    if (expected !== data.length) throw new RangeError(`${hint}: ${data.length} values for dims [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    const tensor = new ProtobufWriter()
      .packedVarints(1, dims)
      .varint(2, DATA_TYPES[elementTypeOf(data)])
      .string(8, name)
      .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.initializers.push(tensor);
    return name;
  }

  /** Adds one node with one output and returns the output's name. */
  op(type: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, outputName?: string): string {
    const [output] = this.opMany(type, inputs, 1, attributes, outputName === undefined ? undefined : [outputName]);
    if (output === undefined) throw new Error(`${type} gave no output`);
    return output;
  }

  /** Adds one node with `outputCount` outputs and returns their names. */
  opMany(
    type: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, AttributeValue>> = {},
    outputNames?: readonly string[],
  ): string[] {
    const outputs = outputNames ? [...outputNames] : Array.from({ length: outputCount }, () => this.fresh(type));
    const node = new ProtobufWriter();
    for (const input of inputs) node.string(1, input);
    for (const output of outputs) node.string(2, output);
    node.string(3, this.fresh(`${type}_node`)).string(4, type);
    for (const [name, value] of Object.entries(attributes)) node.message(5, encodeAttribute(name, value));
    this.nodes.push(node);
    return outputs;
  }

  /** The model file's bytes. */
  encode(options: { readonly opset: number; readonly producer: string }): Uint8Array {
    const graph = new ProtobufWriter();
    for (const node of this.nodes) graph.message(1, node);
    graph.string(2, this.name);
    for (const initializer of this.initializers) graph.message(5, initializer);
    for (const input of this.inputs) graph.message(11, input);
    for (const output of this.outputs) graph.message(12, output);
    const opset = new ProtobufWriter().string(1, '').varint(2, options.opset);
    return new ProtobufWriter()
      .varint(1, ONNX_IR_VERSION)
      .string(2, options.producer)
      .message(7, graph)
      .message(8, opset)
      .finish();
  }

  private fresh(hint: string): string {
    this.counter += 1;
    return `${hint}_${this.counter}`;
  }
}

/** IR version 8 goes with opsets up to 18; ONNX Runtime reads it. */
const ONNX_IR_VERSION = 8;

function elementTypeOf(data: TensorData): ElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  return 'int64';
}

function valueInfo(name: string, type: ElementType, dims: readonly Dimension[]): ProtobufWriter {
  const shape = new ProtobufWriter();
  for (const dim of dims) {
    shape.message(1, typeof dim === 'number' ? new ProtobufWriter().varint(1, dim) : new ProtobufWriter().string(2, dim));
  }
  const tensorType = new ProtobufWriter().varint(1, DATA_TYPES[type]).message(2, shape);
  return new ProtobufWriter().string(1, name).message(2, new ProtobufWriter().message(1, tensorType));
}

/** `AttributeProto`: type numbers FLOAT 1, INT 2, INTS 7. */
function encodeAttribute(name: string, value: AttributeValue): ProtobufWriter {
  const writer = new ProtobufWriter().string(1, name);
  switch (value.kind) {
    case 'float':
      return writer.float(2, value.value).varint(20, 1);
    case 'int':
      return writer.varint(3, value.value).varint(20, 2);
    case 'ints':
      return writer.packedVarints(8, value.value).varint(20, 7);
  }
}
