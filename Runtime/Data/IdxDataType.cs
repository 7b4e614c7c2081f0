namespace ModelDsl.Runtime.Data;

/// <summary>The element type byte of an IDX header (third magic byte). Multi-byte values are stored big-endian.</summary>
public enum IdxDataType : byte
{
    UnsignedByte = 0x08,
    SignedByte = 0x09,
    Int16 = 0x0B,
    Int32 = 0x0C,
    Float32 = 0x0D,
    Float64 = 0x0E,
}

internal static class IdxDataTypes
{
    public static bool IsDefined(byte code) =>
        code is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;

    public static int SizeOf(IdxDataType type) => type switch
    {
        IdxDataType.UnsignedByte or IdxDataType.SignedByte => 1,
        IdxDataType.Int16 => 2,
        IdxDataType.Int32 or IdxDataType.Float32 => 4,
        IdxDataType.Float64 => 8,
        _ => throw new System.ArgumentOutOfRangeException(nameof(type), type, "not an IDX data type"),
    };

    /// <summary>The name used in messages: the C-ish spelling people know from the IDX description.</summary>
    public static string Describe(IdxDataType type) => type switch
    {
        IdxDataType.UnsignedByte => "unsigned byte",
        IdxDataType.SignedByte => "signed byte",
        IdxDataType.Int16 => "int16",
        IdxDataType.Int32 => "int32",
        IdxDataType.Float32 => "float32",
        IdxDataType.Float64 => "float64",
        _ => $"0x{(byte)type:X2}",
    };
}
