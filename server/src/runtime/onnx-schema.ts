/**
 * The part of ONNX's protobuf schema (onnx.proto, IR version 8) the exporter writes, as a protobufjs reflection
 * descriptor: message and field names, numbers and types as the ONNX specification defines them. protobufjs encodes
 * from it; nothing else in the project knows the wire format.
 */
import { Root, type Type } from 'protobufjs/light';

type Rule = 'repeated' | undefined;
const field = (type: string, id: number, rule?: Rule) => ({ type, id, ...(rule ? { rule } : {}) });

const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: field('int64', 1),
            producerName: field('string', 2),
            producerVersion: field('string', 3),
            domain: field('string', 4),
            modelVersion: field('int64', 5),
            docString: field('string', 6),
            graph: field('GraphProto', 7),
            opsetImport: field('OperatorSetIdProto', 8, 'repeated'),
          },
        },
        OperatorSetIdProto: { fields: { domain: field('string', 1), version: field('int64', 2) } },
        GraphProto: {
          fields: {
            node: field('NodeProto', 1, 'repeated'),
            name: field('string', 2),
            initializer: field('TensorProto', 5, 'repeated'),
            docString: field('string', 10),
            input: field('ValueInfoProto', 11, 'repeated'),
            output: field('ValueInfoProto', 12, 'repeated'),
            valueInfo: field('ValueInfoProto', 13, 'repeated'),
          },
        },
        NodeProto: {
          fields: {
            input: field('string', 1, 'repeated'),
            output: field('string', 2, 'repeated'),
            name: field('string', 3),
            opType: field('string', 4),
            attribute: field('AttributeProto', 5, 'repeated'),
            docString: field('string', 6),
            domain: field('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: field('string', 1),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            floats: field('float', 7, 'repeated'),
            ints: field('int64', 8, 'repeated'),
            strings: field('bytes', 9, 'repeated'),
            docString: field('string', 13),
            type: field('AttributeType', 20),
          },
          nested: {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: field('int64', 1, 'repeated'),
            dataType: field('int32', 2),
            floatData: field('float', 4, 'repeated'),
            int64Data: field('int64', 7, 'repeated'),
            name: field('string', 8),
            rawData: field('bytes', 9),
            docString: field('string', 12),
          },
          nested: {
            DataType: { values: { UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } },
          },
        },
        ValueInfoProto: { fields: { name: field('string', 1), type: field('TypeProto', 2), docString: field('string', 3) } },
        TypeProto: {
          fields: { tensorType: field('Tensor', 1) },
          nested: { Tensor: { fields: { elemType: field('int32', 1), shape: field('TensorShapeProto', 2) } } },
        },
        TensorShapeProto: {
          fields: { dim: field('Dimension', 1, 'repeated') },
          nested: {
            Dimension: { fields: { dimValue: field('int64', 1), dimParam: field('string', 2), denotation: field('string', 3) } },
          },
        },
      },
    },
  },
};

let model: Type | null = null;

/** The ModelProto type (built once). */
export function modelProto(): Type {
  model ??= Root.fromJSON(descriptor).lookupType('onnx.ModelProto');
  return model;
}
