using System;

namespace ModelDsl.Runtime;

/// <summary>
/// The element types the safetensors format names. ModelDsl reads and writes <see cref="F32"/> and
/// <see cref="I32"/>; the others are recognised (so a file holding them parses, and a request to read one fails
/// with "unsupported dtype BF16" rather than "unknown dtype").
/// </summary>
public enum SafetensorsDType
{
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
    C64,
}

/// <summary>Names (as spelled in a header) and sizes of <see cref="SafetensorsDType"/>s.</summary>
public static class SafetensorsDTypes
{
    private static readonly string[] Names =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64"];

    private static readonly int[] Sizes = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 8];

    /// <summary>Sub-byte types of newer safetensors versions: recognised, never readable here.</summary>
    internal static readonly string[] SubByteNames = ["F4", "F6_E2M3", "F6_E3M2"];

    /// <summary>The header spelling: <c>F32</c>, <c>BF16</c>, <c>F8_E4M3</c>.</summary>
    public static string Name(this SafetensorsDType dtype) => Names[(int)dtype];

    /// <summary>Bytes per element.</summary>
    public static int Size(this SafetensorsDType dtype) => Sizes[(int)dtype];

    /// <summary>Parses a header spelling (case-sensitive, as the format is).</summary>
    public static bool TryParse(string text, out SafetensorsDType dtype)
    {
        int index = Array.IndexOf(Names, text);
        dtype = index < 0 ? default : (SafetensorsDType)index;
        return index >= 0;
    }
}
