namespace ModelDsl.Runtime.Onnx;

/// <summary>
/// Field numbers and enum values from onnx/onnx.proto (proto2) for the messages the exporter writes.
/// Only these are written; everything else keeps its default.
/// </summary>
internal static class OnnxProto
{
    // ModelProto
    public const int ModelIrVersion = 1;          // int64
    public const int ModelProducerName = 2;       // string
    public const int ModelProducerVersion = 3;    // string
    public const int ModelDocString = 6;          // string
    public const int ModelGraph = 7;              // GraphProto
    public const int ModelOpsetImport = 8;        // repeated OperatorSetIdProto

    // OperatorSetIdProto
    public const int OpsetDomain = 1;             // string ("" = ai.onnx)
    public const int OpsetVersion = 2;            // int64

    // GraphProto
    public const int GraphNode = 1;               // repeated NodeProto
    public const int GraphName = 2;               // string
    public const int GraphInitializer = 5;        // repeated TensorProto
    public const int GraphInput = 11;             // repeated ValueInfoProto
    public const int GraphOutput = 12;            // repeated ValueInfoProto

    // NodeProto
    public const int NodeInput = 1;               // repeated string
    public const int NodeOutput = 2;              // repeated string
    public const int NodeName = 3;                // string
    public const int NodeOpType = 4;              // string
    public const int NodeAttribute = 5;           // repeated AttributeProto

    // AttributeProto
    public const int AttributeName = 1;           // string
    public const int AttributeF = 2;              // float
    public const int AttributeI = 3;              // int64
    public const int AttributeS = 4;              // bytes
    public const int AttributeInts = 8;           // repeated int64
    public const int AttributeType = 20;          // AttributeType enum
    public const int AttributeTypeFloat = 1;
    public const int AttributeTypeInt = 2;
    public const int AttributeTypeString = 3;
    public const int AttributeTypeInts = 7;

    // TensorProto
    public const int TensorDims = 1;              // repeated int64
    public const int TensorDataType = 2;          // int32 (DataType)
    public const int TensorName = 8;              // string
    public const int TensorRawData = 9;           // bytes, little-endian

    // TensorProto.DataType
    public const int Float = 1;
    public const int Int32 = 6;

    // ValueInfoProto
    public const int ValueInfoName = 1;           // string
    public const int ValueInfoType = 2;           // TypeProto

    // TypeProto and TypeProto.Tensor
    public const int TypeTensorType = 1;          // TypeProto.Tensor
    public const int TensorTypeElemType = 1;      // int32 (DataType)
    public const int TensorTypeShape = 2;         // TensorShapeProto

    // TensorShapeProto and TensorShapeProto.Dimension
    public const int ShapeDim = 1;                // repeated Dimension
    public const int DimValue = 1;                // int64
    public const int DimParam = 2;                // string

    /// <summary>The newest IR version each default-domain opset shipped with (ONNX's versioning table).</summary>
    public static int IrVersionFor(int opset) => opset switch
    {
        <= 8 => 3,
        9 => 4,
        10 => 5,
        <= 11 => 6,
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        <= 22 => 10,
        _ => 11,
    };
}
