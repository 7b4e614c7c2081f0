using System;
using System.Buffers;
using System.IO;
using System.Text.Unicode;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// UTF-8 decoding that refuses bad input instead of replacing it with U+FFFD: a corpus in another encoding (Latin-1,
/// say) would otherwise train a model on replacement characters without anyone noticing.
/// </summary>
public static class StrictUtf8
{
    /// <summary>
    /// Decodes <paramref name="bytes"/>, dropping a leading byte-order mark. Invalid or truncated sequences are an
    /// <see cref="InvalidDataException"/> naming <paramref name="name"/> and the byte offset of the first bad byte.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string name)
    {
        int start = bytes.StartsWith("\uFEFF"u8) ? 3 : 0;
        ReadOnlySpan<byte> body = bytes[start..];
        // UTF-16 never needs more code units than UTF-8 has bytes.
        char[] chars = ArrayPool<char>.Shared.Rent(Math.Max(1, body.Length));
        try
        {
            // isFinalBlock: false makes a sequence cut off by the end of the file NeedMoreData rather than InvalidData.
            OperationStatus status = Utf8.ToUtf16(body, chars, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: false);
            if (status != OperationStatus.Done)
            {
                long offset = start + read;
                string what = status == OperationStatus.NeedMoreData ? "truncated UTF-8 sequence" : "invalid UTF-8";
                throw new InvalidDataException(
                    $"{name}: {what} at byte offset {offset} (0x{bytes[(int)offset]:X2}); the file must be UTF-8 (ASCII is fine)");
            }
            return new string(chars, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>Reads and decodes a whole file; messages name the file by its file name.</summary>
    public static string ReadFile(string path) => Decode(File.ReadAllBytes(path), Path.GetFileName(path));
}
