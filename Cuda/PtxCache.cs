using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace ModelDsl.Cuda;

/// <summary>
/// PTX on disk, keyed by the SHA-256 of (source, compiler identity, architecture), so a model's kernels are compiled
/// by NVRTC once per machine rather than once per run. The directory is <c>$MODELDSL_CACHE_DIR/ptx</c>, else
/// <c>$XDG_CACHE_HOME/modeldsl/ptx</c>, else <c>~/.cache/modeldsl/ptx</c>.
/// </summary>
/// <remarks>
/// <para>An entry is <c>&lt;key&gt;.ptx</c>: one header line <c>// modeldsl-ptx-cache v1 key=… bytes=… sha256=…</c>
/// (a PTX comment) and the PTX. An entry is used only when its header matches the key and the length and hash of what
/// follows; anything else (truncated, corrupt, another key) is recompiled and replaced, never trusted.</para>
/// <para>Entries are written to a temporary file in the same directory, flushed, then renamed over the entry, so
/// readers in other processes see the old entry or the new one, never half of one. A directory that cannot be created
/// or written costs a compile per load and nothing else (<see cref="LastWriteError"/> says why).</para>
/// </remarks>
public sealed class PtxCache
{
    private const string HeaderPrefix = "// modeldsl-ptx-cache v1";

    private readonly string _compilerIdentity;
    private readonly Func<string, string, string, string> _compile;

    /// <param name="directory">Where entries live; null disables the disk (every call compiles).</param>
    /// <param name="compilerIdentity">The compiler's version and options; part of every key.</param>
    /// <param name="compile">(source, program name, architecture) → PTX.</param>
    public PtxCache(string? directory, string compilerIdentity, Func<string, string, string, string> compile)
    {
        Directory = directory is null ? null : Path.GetFullPath(directory);
        _compilerIdentity = compilerIdentity;
        _compile = compile;
    }

    /// <summary>A cache in <see cref="DefaultDirectory"/> that compiles with <see cref="NvrtcCompiler"/>.</summary>
    public static PtxCache ForNvrtc() =>
        new(DefaultDirectory(), $"NVRTC {NvrtcCompiler.Version} {string.Join(' ', NvrtcCompiler.Options("*"))}", NvrtcCompiler.CompileToPtx);

    /// <summary>The entry directory, or null when there is none (no home directory, or disabled).</summary>
    public string? Directory { get; }

    /// <summary>Why the last entry could not be written (null after a successful write); for logs and tests.</summary>
    public string? LastWriteError { get; private set; }

    /// <summary>The PTX of <paramref name="source"/> for <paramref name="architecture"/>, from disk when a valid entry exists.</summary>
    public string GetOrCompile(string source, string programName, string architecture)
    {
        string key = Key(source, _compilerIdentity, architecture);
        if (Directory is null) return _compile(source, programName, architecture);

        string path = EntryPath(key)!;
        if (TryRead(path, key) is { } cached) return cached;
        string ptx = _compile(source, programName, architecture);
        TryWrite(path, key, ptx);
        return ptx;
    }

    /// <summary>The file of the entry with <paramref name="key"/> (null without a directory).</summary>
    public string? EntryPath(string key) => Directory is null ? null : Path.Combine(Directory, key + ".ptx");

    /// <summary>The directory from the environment (see the type summary); null when none can be found.</summary>
    public static string? DefaultDirectory() =>
        ResolveDirectory(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static string? ResolveDirectory(Func<string, string?> environment, string? home)
    {
        if (environment("MODELDSL_CACHE_DIR") is { Length: > 0 } explicitDirectory) return Path.Combine(explicitDirectory, "ptx");
        // The XDG base-directory specification ignores relative paths.
        if (environment("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "modeldsl", "ptx");
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "modeldsl", "ptx");
    }

    /// <summary>Lowercase hex SHA-256 of the length-prefixed (compiler identity, architecture, source).</summary>
    public static string Key(string source, string compilerIdentity, string architecture)
    {
        string material = $"{HeaderPrefix}\n{compilerIdentity.Length}:{compilerIdentity}\n{architecture.Length}:{architecture}\n{source.Length}:{source}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material)));
    }

    private static string Header(string key, ReadOnlySpan<byte> body) =>
        $"{HeaderPrefix} key={key} bytes={body.Length} sha256={Convert.ToHexStringLower(SHA256.HashData(body))}\n";

    private static string? TryRead(string path, string key)
    {
        byte[] data;
        try
        {
            if (!File.Exists(path)) return null;
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            return null;
        }
        int newline = Array.IndexOf(data, (byte)'\n');
        if (newline < 0) return null;
        ReadOnlySpan<byte> body = data.AsSpan(newline + 1);
        string header = Encoding.UTF8.GetString(data, 0, newline + 1);
        return header == Header(key, body) ? Encoding.UTF8.GetString(body) : null;
    }

    private void TryWrite(string path, string key, string ptx)
    {
        string? temporary = null;
        try
        {
            System.IO.Directory.CreateDirectory(Directory!);
            byte[] body = Encoding.UTF8.GetBytes(ptx);
            byte[] header = Encoding.UTF8.GetBytes(Header(key, body));
            temporary = Path.Combine(Directory!, $".{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(header);
                stream.Write(body);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
            temporary = null;
            LastWriteError = null;
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            LastWriteError = $"PTX cache entry {path} not written: {e.Message}";
        }
        finally
        {
            if (temporary is not null) TryDelete(temporary);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            // Left behind: a stray temporary file, never read as an entry.
        }
    }

    private static bool IsFileSystemError(Exception e) =>
        e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException;
}
