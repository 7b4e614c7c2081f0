using System.Buffers.Binary;
using System.Text;

namespace BertClassifierExample.Reviews;

/// <summary>An R value read from R's serialization format: only the kinds a data frame of text and factors needs.</summary>
internal abstract record RValue
{
    /// <summary>The value's attributes (names, class, levels, row.names), in the order R wrote them.</summary>
    public IReadOnlyList<KeyValuePair<string, RValue>> Attributes { get; init; } = Array.Empty<KeyValuePair<string, RValue>>();

    public RValue? Attribute(string name)
    {
        foreach (var (key, value) in Attributes)
            if (key == name) return value;
        return null;
    }

    /// <summary>The "class" attribute's strings, empty when there is none.</summary>
    public IReadOnlyList<string?> Classes => Attribute("class") is RStrings s ? s.Values : Array.Empty<string?>();
}

internal sealed record RNull : RValue
{
    public static readonly RNull Value = new();
}

/// <summary>A symbol (a name), as attribute tags and pairlist tags hold them.</summary>
internal sealed record RSymbol(string Name) : RValue;

/// <summary>A character vector; NA_character_ is null.</summary>
internal sealed record RStrings(string?[] Values) : RValue;

/// <summary>An integer vector (factors too: codes from 1, NA is int.MinValue) or a logical vector.</summary>
internal sealed record RIntegers(int[] Values, bool Logical) : RValue
{
    public const int NA = int.MinValue;
}

internal sealed record RDoubles(double[] Values) : RValue;

/// <summary>A generic vector (VECSXP): lists, data frames and tibbles (one element per column).</summary>
internal sealed record RList(RValue[] Values) : RValue;

/// <summary>A pairlist (LISTSXP), as attributes are stored: tagged values.</summary>
internal sealed record RPairList(IReadOnlyList<KeyValuePair<string?, RValue>> Items) : RValue;

/// <summary>
/// Reads R's serialization format (what <c>saveRDS</c>, <c>serialize</c> and each record of a lazy-load database hold),
/// XDR (big-endian) version 2 or 3: the header, then one item read recursively. Covered: NULL, symbols and references
/// to them, pairlists, logical, integer, double, character and generic vectors, with attributes and long lengths.
/// Anything else (environments, closures, bytecode, ALTREP) ends in an <see cref="InvalidDataException"/> naming the
/// type, the source and the byte offset, as does every length that runs past the end.
/// </summary>
/// <remarks>
/// The layout is R's src/main/serialize.c: each item starts with an int of flags, type = flags &amp; 0xFF, bit 8 "is
/// object", bit 9 "has attributes", bit 10 "has tag", bits 12.. "levels" (for a CHARSXP its encoding). Vectors then
/// hold their length (-1 and two ints for a long vector) and their elements; a CHARSXP its byte count (-1 for NA) and
/// bytes; the attributes (a pairlist) come after the contents. A pairlist cell holds attributes, tag, CAR, then CDR.
/// Symbols are numbered in the order read and later written as REFSXP with that number.
/// </remarks>
internal sealed class RSerializationReader
{
    private const int NilValueSxp = 254, RefSxp = 255, SymSxp = 1, ListSxp = 2, CharSxp = 9, LglSxp = 10, IntSxp = 13,
        RealSxp = 14, StrSxp = 16, VecSxp = 19, ExprSxp = 20, EmptyEnvSxp = 242, BaseEnvSxp = 241, GlobalEnvSxp = 253,
        AltrepSxp = 238, AttrListSxp = 239;
    private const int HasAttributesBit = 1 << 9, HasTagBit = 1 << 10;
    private const int Latin1Mask = 1 << 2, BytesMask = 1 << 1;
    private const int MaxDepth = 1000;

    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<RValue> _references = new();
    private int _position;
    private int _depth;

    private RSerializationReader(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>
    /// Reads one serialized value. <paramref name="source"/> names where the bytes came from in error messages
    /// ("Rdata.rdb, record 'training_data' at byte 3407777").
    /// </summary>
    public static RValue Read(byte[] data, string source)
    {
        var reader = new RSerializationReader(data, source);
        reader.ReadHeader();
        var value = reader.ReadItem();
        return value;
    }

    private void ReadHeader()
    {
        if (_data.Length < 2 || _data[0] != 'X' || _data[1] != '\n')
        {
            string what = _data.Length >= 2 && _data[0] is (byte)'A' or (byte)'B' && _data[1] == '\n'
                ? $"R's {(_data[0] == 'A' ? "ASCII" : "native binary")} serialization, only the XDR form R writes by default is read"
                : "not R serialization (it does not start with \"X\\n\")";
            throw Error(0, what);
        }
        _position = 2;
        int version = ReadInt();
        ReadInt(); // the R version that wrote it
        ReadInt(); // the oldest R version that can read it
        if (version == 3)
        {
            int length = ReadInt();
            if (length < 0 || length > 64) throw Error(_position - 4, $"a native encoding name of {length} bytes");
            Take(length);
        }
        else if (version != 2)
        {
            throw Error(2, $"serialization format version {version}; versions 2 and 3 are read");
        }
    }

    private RValue ReadItem()
    {
        if (++_depth > MaxDepth) throw Error(_position, $"values nested more than {MaxDepth} deep");
        try
        {
            int at = _position;
            int flags = ReadInt();
            int type = flags & 0xFF;
            bool hasAttributes = (flags & HasAttributesBit) != 0, hasTag = (flags & HasTagBit) != 0;
            switch (type)
            {
                case NilValueSxp:
                    return RNull.Value;
                case EmptyEnvSxp or BaseEnvSxp or GlobalEnvSxp:
                    return RNull.Value;
                case RefSxp:
                {
                    int index = flags >> 8;
                    if (index == 0) index = ReadInt();
                    if (index < 1 || index > _references.Count)
                        throw Error(at, $"a reference to value {index}, but only {_references.Count} were read before it");
                    return _references[index - 1];
                }
                case SymSxp:
                {
                    var name = ReadItem() as RStrings;
                    if (name is null || name.Values.Length != 1 || name.Values[0] is null)
                        throw Error(at, "a symbol whose name is not one string");
                    var symbol = new RSymbol(name.Values[0]!);
                    _references.Add(symbol);
                    return symbol;
                }
                case ListSxp or AttrListSxp:
                    return ReadPairList(flags);
                case CharSxp:
                    return new RStrings(new[] { ReadCharacters(flags, at) });
                case LglSxp or IntSxp:
                {
                    long length = ReadLength();
                    var values = new int[CheckedLength(length, 4, at)];
                    for (int i = 0; i < values.Length; i++) values[i] = ReadInt();
                    return WithAttributes(new RIntegers(values, type == LglSxp), hasAttributes);
                }
                case RealSxp:
                {
                    long length = ReadLength();
                    var values = new double[CheckedLength(length, 8, at)];
                    for (int i = 0; i < values.Length; i++)
                        values[i] = BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(Take(8)));
                    return WithAttributes(new RDoubles(values), hasAttributes);
                }
                case StrSxp:
                {
                    long length = ReadLength();
                    var values = new string?[CheckedLength(length, 4, at)];
                    for (int i = 0; i < values.Length; i++)
                    {
                        int elementAt = _position;
                        int elementFlags = ReadInt();
                        if ((elementFlags & 0xFF) != CharSxp)
                            throw Error(elementAt, $"element {i + 1} of a character vector is of type {elementFlags & 0xFF}, not a string (CHARSXP, 9)");
                        values[i] = ReadCharacters(elementFlags, elementAt);
                    }
                    return WithAttributes(new RStrings(values), hasAttributes);
                }
                case VecSxp or ExprSxp:
                {
                    long length = ReadLength();
                    var values = new RValue[CheckedLength(length, 4, at)];
                    for (int i = 0; i < values.Length; i++) values[i] = ReadItem();
                    return WithAttributes(new RList(values), hasAttributes);
                }
                case AltrepSxp:
                    throw Error(at, "an ALTREP value (a compact sequence or wrapper); save the data with R's serialization version 2, or materialise it first");
                default:
                    throw Error(at, $"an R value of type {type} ({TypeName(type)}), which this reader does not read (it reads data frames of strings, numbers and factors)");
            }
        }
        finally
        {
            _depth--;
        }
    }

    // A pairlist is read iteratively along its CDR chain (an attribute list can be long; recursion would be deep).
    private RValue ReadPairList(int flags)
    {
        var items = new List<KeyValuePair<string?, RValue>>();
        IReadOnlyList<KeyValuePair<string, RValue>>? attributes = null;
        while (true)
        {
            int type = flags & 0xFF;
            if (type is not (ListSxp or AttrListSxp))
                throw Error(_position - 4, $"a pairlist cell continued by type {type} ({TypeName(type)})");
            if ((flags & HasAttributesBit) != 0)
            {
                var cellAttributes = AttributesOf(ReadItem());
                attributes ??= cellAttributes;
            }
            string? tag = null;
            if ((flags & HasTagBit) != 0)
            {
                int tagAt = _position;
                tag = ReadItem() switch
                {
                    RSymbol s => s.Name,
                    RNull => null,
                    var other => throw Error(tagAt, $"a pairlist tag that is a {other.GetType().Name}, not a symbol"),
                };
            }
            items.Add(new(tag, ReadItem()));
            int nextAt = _position;
            flags = ReadInt();
            if ((flags & 0xFF) == NilValueSxp) break;
            if ((flags & 0xFF) is not (ListSxp or AttrListSxp))
            {
                throw Error(nextAt, $"a pairlist whose tail is of type {flags & 0xFF} ({TypeName(flags & 0xFF)})");
            }
        }
        return new RPairList(items) { Attributes = attributes ?? Array.Empty<KeyValuePair<string, RValue>>() };
    }

    private RValue WithAttributes(RValue value, bool hasAttributes) =>
        hasAttributes ? value with { Attributes = AttributesOf(ReadItem()) } : value;

    private IReadOnlyList<KeyValuePair<string, RValue>> AttributesOf(RValue list)
    {
        if (list is RNull) return Array.Empty<KeyValuePair<string, RValue>>();
        if (list is not RPairList pairs) throw Error(_position, $"attributes that are a {list.GetType().Name}, not a pairlist");
        var result = new List<KeyValuePair<string, RValue>>(pairs.Items.Count);
        foreach (var (tag, value) in pairs.Items)
        {
            if (tag is null) throw Error(_position, "an attribute without a name");
            result.Add(new(tag, value));
        }
        return result;
    }

    private string? ReadCharacters(int flags, int at)
    {
        int length = ReadInt();
        if (length == -1) return null;
        if (length < 0) throw Error(at, $"a string of {length} bytes");
        var bytes = Take(length);
        if ((flags & BytesMask << 12) != 0) throw Error(at, "a string of raw bytes (no encoding)");
        return (flags & Latin1Mask << 12) != 0 ? Encoding.Latin1.GetString(bytes) : DecodeUtf8(bytes, at);
    }

    private string DecodeUtf8(ReadOnlySpan<byte> bytes, int at)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw Error(at + 8 + ex.Index, "a string that is not valid UTF-8");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private long ReadLength()
    {
        int at = _position;
        int length = ReadInt();
        if (length >= 0) return length;
        if (length != -1) throw Error(at, $"a vector length of {length}");
        long upper = (uint)ReadInt(), lower = (uint)ReadInt();
        return (upper << 32) | lower;
    }

    // Every element takes at least minBytes, so a length the rest of the data cannot hold is corrupt (and is refused
    // before allocating for it).
    private int CheckedLength(long length, int minBytes, int at)
    {
        if (length > (_data.Length - _position) / minBytes)
            throw Error(at, $"a vector of {length:N0} elements, more than the {_data.Length - _position:N0} bytes left can hold");
        return (int)length;
    }

    private int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw Error(_position, $"the data ends after {_data.Length:N0} bytes where {count:N0} more were expected (truncated or corrupt)");
        var span = _data.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private InvalidDataException Error(int offset, string what) =>
        new($"{_source}: {what} at byte {offset:N0} of the serialized value");

    private static string TypeName(int type) => type switch
    {
        0 => "NILSXP", 3 => "CLOSXP", 4 => "ENVSXP", 5 => "PROMSXP", 6 => "LANGSXP", 7 => "SPECIALSXP",
        8 => "BUILTINSXP", 15 => "CPLXSXP", 17 => "DOTSXP", 21 => "BCODESXP", 22 => "EXTPTRSXP", 23 => "WEAKREFSXP",
        24 => "RAWSXP", 25 => "S4SXP", 247 => "PERSISTSXP", 248 => "PACKAGESXP", 249 => "NAMESPACESXP",
        _ => "unknown",
    };
}
