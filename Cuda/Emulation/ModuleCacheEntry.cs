using System;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace ModelDsl.Cuda.Emulation;

/// <summary>
/// The integrity record of a cached emulator library: <c>module.so.sha256</c> beside <c>module.so</c>, one line
/// <c>modeldsl-emulated-module v1 bytes=… sha256=…</c>. dlopen trusts whatever it maps: a truncated library dies with
/// SIGBUS when a missing page is touched, a flipped bit runs as a wrong instruction or, worse, as a silently wrong
/// kernel. So a library is used only when its length and SHA-256 match the record; anything else (no record, an
/// empty or truncated file, a flipped bit, a record from another build) makes the caller rebuild.
/// </summary>
/// <remarks>
/// Publishing renames the finished library into place first and the record second, each from a complete temporary
/// file in the same folder. A reader in another process therefore sees a whole library (old or new) and a whole record
/// (old or new); between the two renames they may disagree, which only costs that reader a rebuild. Two processes
/// building one module publish libraries compiled from the same files, so whichever record wins describes a library
/// that works; if the compiler's output were not byte-identical, the loser's record fails verification on the next
/// run and the entry is rebuilt once.
/// </remarks>
internal static class ModuleCacheEntry
{
    private const string RecordPrefix = "modeldsl-emulated-module v1";
    public const string RecordSuffix = ".sha256";

    /// <summary>Null when <paramref name="library"/> matches its record; otherwise why it cannot be used.</summary>
    public static string? Verify(string library)
    {
        string recordPath = library + RecordSuffix;
        try
        {
            if (!File.Exists(library)) return $"{library} does not exist";
            if (!File.Exists(recordPath)) return $"{recordPath} does not exist (a library cached without a checksum)";
            string recorded = File.ReadAllText(recordPath, Encoding.UTF8);
            byte[] bytes = File.ReadAllBytes(library);
            string actual = Record(bytes);
            return recorded == actual ? null
                : $"{library} does not match {recordPath} (recorded \"{recorded.TrimEnd()}\", found \"{actual.TrimEnd()}\")";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{library} cannot be read: {e.Message}";
        }
    }

    /// <summary>Moves the compiled <paramref name="temporaryLibrary"/> to <paramref name="library"/> and records its hash.</summary>
    public static void Publish(string temporaryLibrary, string library)
    {
        byte[] bytes = File.ReadAllBytes(temporaryLibrary);
        if (bytes.Length == 0) throw new IOException($"the compiler wrote an empty library {temporaryLibrary}");
        string recordPath = library + RecordSuffix;
        string temporaryRecord = recordPath + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temporaryRecord, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(Encoding.UTF8.GetBytes(Record(bytes)));
                stream.Flush(flushToDisk: true);
            }
            FlushToDisk(temporaryLibrary);
            File.Move(temporaryLibrary, library, overwrite: true);
            File.Move(temporaryRecord, recordPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporaryRecord)) File.Delete(temporaryRecord);
        }
    }

    private static string Record(byte[] bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{RecordPrefix} bytes={bytes.Length} sha256={Convert.ToHexStringLower(SHA256.HashData(bytes))}\n");

    // The compiler closed the file but did not fsync it: without this a crash right after the rename could leave a
    // library of zeros under the final name (the record would then catch it, at the cost of a rebuild).
    private static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }
}
