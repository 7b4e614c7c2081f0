using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Interop;

public sealed class PtxCacheTests : IDisposable
{
    private const string Source = "extern \"C\" __global__ void k(float* x) { x[threadIdx.x] = 0.0f; }";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modeldsl-tests", "ptx-cache-" + Guid.NewGuid().ToString("N"));
    private int _compiles;

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private string Compile(string source, string programName, string architecture)
    {
        Interlocked.Increment(ref _compiles);
        return $"// PTX of {programName} for {architecture}\n.target sm_{architecture[8..]}\n// {source.Length} source characters, ünïcödé\n";
    }

    private PtxCache Cache(string version = "NVRTC 11.8", string? directory = null) => new(directory ?? _directory, version, Compile);

    [Fact]
    public void GetOrCompile_MissThenHit_SecondCallDoesNotCompile()
    {
        string first = Cache().GetOrCompile(Source, "m", "compute_80");
        string second = Cache().GetOrCompile(Source, "m", "compute_80");

        Assert.Equal(1, _compiles);
        Assert.Equal(first, second);
        Assert.Equal(Compile(Source, "m", "compute_80"), second);
        string entry = Cache().EntryPath(PtxCache.Key(Source, "NVRTC 11.8", "compute_80"))!;
        Assert.StartsWith("// modeldsl-ptx-cache v1 key=", File.ReadAllText(entry));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public void Key_IsLowercaseSha256_AndDependsOnSourceCompilerAndArchitecture()
    {
        string key = PtxCache.Key(Source, "NVRTC 11.8", "compute_80");

        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(key, PtxCache.Key(Source, "NVRTC 11.8", "compute_80"));
        Assert.NotEqual(key, PtxCache.Key(Source, "NVRTC 11.8", "compute_90"));
        Assert.NotEqual(key, PtxCache.Key(Source, "NVRTC 12.4", "compute_80"));
        Assert.NotEqual(key, PtxCache.Key(Source + " ", "NVRTC 11.8", "compute_80"));
        // Fields are length-prefixed: moving text between them changes the key.
        Assert.NotEqual(PtxCache.Key("b", "a", "compute_80"), PtxCache.Key("", "ab", "compute_80"));
    }

    [Fact]
    public void GetOrCompile_OtherArchitectureOrCompilerVersion_CompilesAgain()
    {
        Cache().GetOrCompile(Source, "m", "compute_80");
        Cache().GetOrCompile(Source, "m", "compute_90");
        Cache("NVRTC 12.4").GetOrCompile(Source, "m", "compute_80");
        Cache().GetOrCompile(Source, "m", "compute_80");

        Assert.Equal(3, _compiles);
        Assert.Equal(3, Directory.GetFiles(_directory, "*.ptx").Length);
    }

    public enum Corruption { Truncated, FlippedByte, Empty, HeaderOnly, NoHeader, OtherKeysEntry, Binary }

    [Theory]
    [InlineData(Corruption.Truncated)]
    [InlineData(Corruption.FlippedByte)]
    [InlineData(Corruption.Empty)]
    [InlineData(Corruption.HeaderOnly)]
    [InlineData(Corruption.NoHeader)]
    [InlineData(Corruption.OtherKeysEntry)]
    [InlineData(Corruption.Binary)]
    public void GetOrCompile_CorruptEntry_IsRecompiledAndReplaced(Corruption corruption)
    {
        string expected = Cache().GetOrCompile(Source, "m", "compute_80");
        string path = Cache().EntryPath(PtxCache.Key(Source, "NVRTC 11.8", "compute_80"))!;
        byte[] entry = File.ReadAllBytes(path);
        int newline = Array.IndexOf(entry, (byte)'\n');
        byte[] corrupt = corruption switch
        {
            Corruption.Truncated => entry[..^10],
            Corruption.FlippedByte => FlipLastByte(entry),
            Corruption.Empty => [],
            Corruption.HeaderOnly => entry[..(newline + 1)],
            Corruption.NoHeader => entry[(newline + 1)..],
            Corruption.OtherKeysEntry => OtherKeysEntry(),
            Corruption.Binary => [0xFF, 0x00, 0x12, 0x0A, 0x80, 0x81],
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };
        File.WriteAllBytes(path, corrupt);
        int compiles = _compiles;

        string ptx = Cache().GetOrCompile(Source, "m", "compute_80");

        Assert.Equal(compiles + 1, _compiles);
        Assert.Equal(expected, ptx);
        Assert.Equal(entry, File.ReadAllBytes(path)); // repaired
        Cache().GetOrCompile(Source, "m", "compute_80");
        Assert.Equal(compiles + 1, _compiles);
    }

    private static byte[] FlipLastByte(byte[] entry)
    {
        byte[] copy = (byte[])entry.Clone();
        copy[^2] ^= 0x01;
        return copy;
    }

    private byte[] OtherKeysEntry()
    {
        // A valid entry for other source, copied under this key's name.
        var cache = Cache();
        cache.GetOrCompile("other", "m", "compute_80");
        return File.ReadAllBytes(cache.EntryPath(PtxCache.Key("other", "NVRTC 11.8", "compute_80"))!);
    }

    [Fact]
    public void GetOrCompile_UnwritableDirectory_CompilesEveryTimeWithoutThrowing()
    {
        // A directory under a regular file can never be created, whatever the user's rights (root included).
        Directory.CreateDirectory(_directory);
        string file = Path.Combine(_directory, "not-a-directory");
        File.WriteAllText(file, "");
        var cache = Cache(directory: Path.Combine(file, "ptx"));

        string first = cache.GetOrCompile(Source, "m", "compute_80");
        string second = cache.GetOrCompile(Source, "m", "compute_80");

        Assert.Equal(2, _compiles);
        Assert.Equal(first, second);
        Assert.Contains("not written", cache.LastWriteError);
    }

    [Fact]
    public void GetOrCompile_WithoutDirectory_CompilesEveryTime()
    {
        var cache = new PtxCache(null, "NVRTC 11.8", Compile);

        cache.GetOrCompile(Source, "m", "compute_80");
        cache.GetOrCompile(Source, "m", "compute_80");

        Assert.Equal(2, _compiles);
        Assert.Null(cache.Directory);
        Assert.Null(cache.EntryPath("abc"));
    }

    [Fact]
    public void GetOrCompile_ConcurrentCachesOnOneDirectory_AllGetTheSamePtxAndLeaveOneValidEntry()
    {
        string[] results = new string[16];
        Parallel.For(0, results.Length, i => results[i] = Cache().GetOrCompile(Source, "m", "compute_80"));

        Assert.All(results, r => Assert.Equal(results[0], r));
        Assert.Single(Directory.GetFiles(_directory));
        int compiles = _compiles;
        Cache().GetOrCompile(Source, "m", "compute_80");
        Assert.Equal(compiles, _compiles);
    }

    [Fact]
    public void ResolveDirectory_PrefersModelDslCacheDir_ThenAbsoluteXdgCacheHome_ThenHome()
    {
        static Func<string, string?> Env(params (string Name, string Value)[] variables)
        {
            var map = variables.ToDictionary(v => v.Name, v => v.Value);
            return name => map.GetValueOrDefault(name);
        }

        Assert.Equal("/srv/cache/ptx", PtxCache.ResolveDirectory(Env(("MODELDSL_CACHE_DIR", "/srv/cache"), ("XDG_CACHE_HOME", "/xdg")), "/home/u"));
        Assert.Equal("/xdg/modeldsl/ptx", PtxCache.ResolveDirectory(Env(("MODELDSL_CACHE_DIR", ""), ("XDG_CACHE_HOME", "/xdg")), "/home/u"));
        Assert.Equal("/home/u/.cache/modeldsl/ptx", PtxCache.ResolveDirectory(Env(("XDG_CACHE_HOME", "relative/xdg")), "/home/u"));
        Assert.Equal("/home/u/.cache/modeldsl/ptx", PtxCache.ResolveDirectory(Env(), "/home/u"));
        Assert.Null(PtxCache.ResolveDirectory(Env(), ""));
    }

    [NvrtcFact]
    public void ForNvrtc_KeysOnTheNvrtcVersionAndOptions_AndCachesRealPtx()
    {
        var cache = new PtxCache(_directory, $"NVRTC {NvrtcCompiler.Version}", (s, p, a) =>
        {
            Interlocked.Increment(ref _compiles);
            return NvrtcCompiler.CompileToPtx(s, p, a);
        });

        string first = cache.GetOrCompile(NvrtcCompilerTests.BlockSumSource, "block_sum", "compute_80");
        string second = cache.GetOrCompile(NvrtcCompilerTests.BlockSumSource, "block_sum", "compute_80");

        Assert.Equal(1, _compiles);
        Assert.Equal(first, second);
        Assert.Contains(".entry block_sum(", second);
        Assert.Equal(Path.GetFullPath(PtxCache.DefaultDirectory()!), PtxCache.ForNvrtc().Directory);
    }
}
