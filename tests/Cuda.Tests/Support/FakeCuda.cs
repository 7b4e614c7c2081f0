using System;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// The stand-in driver, cuBLAS and cuBLASLt of Interop/FakeCuda/fake_cuda.cpp, built once per source version with g++ into the
/// temp directory and loaded by path. Its state is process-wide: the tests that use it live in one class (xunit runs a
/// class's tests one at a time) and start with <see cref="Reset"/>.
/// </summary>
internal sealed unsafe class FakeCuda
{
    private static readonly Lazy<FakeCuda> s_instance = new(() => new FakeCuda(Build()));

    public static FakeCuda Instance => s_instance.Value;

    private readonly delegate* unmanaged<void> _reset;
    private readonly delegate* unmanaged<byte*, long, void> _set;
    private readonly delegate* unmanaged<byte*, long> _get;
    private readonly delegate* unmanaged<byte*> _log;
    private readonly delegate* unmanaged<ulong*> _recordedArguments;

    private FakeCuda(string path)
    {
        LibraryPath = path;
        nint library = NativeLibrary.Load(path);
        _reset = (delegate* unmanaged<void>)NativeLibrary.GetExport(library, "fake_reset");
        _set = (delegate* unmanaged<byte*, long, void>)NativeLibrary.GetExport(library, "fake_set");
        _get = (delegate* unmanaged<byte*, long>)NativeLibrary.GetExport(library, "fake_get");
        _log = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "fake_log");
        _recordedArguments = (delegate* unmanaged<ulong*>)NativeLibrary.GetExport(library, "fake_recorded_args");
        Driver = CudaDriver.Load(path);
        Cublas = Cublas.Load(path);
        CublasLt = CublasLt.Load(path);
    }

    public string LibraryPath { get; }
    public CudaDriver Driver { get; }
    public Cublas Cublas { get; }
    public CublasLt CublasLt { get; }

    /// <summary>Clears the settings and the call log (allocations, modules and handles are counted, not reset).</summary>
    public void Reset() => _reset();

    public void Set(string key, long value)
    {
        fixed (byte* k = NativeLibraries.ToUtf8(key)) _set(k, value);
    }

    public long Get(string key)
    {
        fixed (byte* k = NativeLibraries.ToUtf8(key)) return _get(k);
    }

    public string Log => Marshal.PtrToStringUTF8((nint)_log()) ?? "";

    public ulong RecordedSlot(int index) => _recordedArguments()[index];

    /// <summary>A context on the stand-in, compiling with <paramref name="compile"/> (default: <see cref="FakePtx"/>) and no disk cache.</summary>
    public CudaContext Open(int ordinal = 0, Func<string, string, string, string>? compile = null) =>
        CudaContext.Create(ordinal, Driver, (major, minor) =>
            new CudaToolchain(Cublas, CublasLt, new PtxCache(null, "fake", compile ?? FakePtx), $"compute_{major}{minor}"));

    /// <summary>
    /// PTX-shaped text with an <c>.entry</c> per <c>extern "C" __global__</c> function of the source; the source's
    /// <c>FAKE_*</c> markers pass through so tests can make the stand-in's module load fail.
    /// </summary>
    public static string FakePtx(string source, string programName, string architecture)
    {
        var ptx = new StringBuilder($"// fake PTX of {programName}\n.version 7.8\n.target sm_{architecture["compute_".Length..]}\n.address_size 64\n");
        foreach (Match match in Regex.Matches(source, @"extern\s+""C""\s+__global__\s+void\s+(\w+)\s*\("))
            ptx.Append($".visible .entry {match.Groups[1].Value}(\n)\n{{\n\tret;\n}}\n");
        foreach (Match marker in Regex.Matches(source, @"FAKE_\w+")) ptx.Append($"// {marker.Value}\n");
        return ptx.ToString();
    }

    private static string Build()
    {
        string source;
        using (Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ModelDsl.Cuda.Tests.fake_cuda.cpp")
            ?? throw new InvalidOperationException("fake_cuda.cpp is not embedded in the test assembly"))
        using (var reader = new StreamReader(stream))
            source = reader.ReadToEnd();

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..16];
        string directory = Path.Combine(Path.GetTempPath(), "modeldsl-tests", "fake-cuda");
        string library = Path.Combine(directory, $"libfakecuda-{hash}.so");
        if (File.Exists(library)) return library;

        Directory.CreateDirectory(directory);
        string unique = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
        string sourcePath = Path.Combine(directory, $"fake_cuda-{unique}.cpp");
        string temporary = Path.Combine(directory, $"libfakecuda-{unique}.so");
        File.WriteAllText(sourcePath, source);
        var start = new ProcessStartInfo("g++") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "-std=c++17", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-o", temporary, sourcePath })
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("g++ did not start");
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException("g++ took over 2 minutes to build fake_cuda.cpp");
        }
        File.Delete(sourcePath);
        if (process.ExitCode != 0) throw new InvalidOperationException($"g++ could not build fake_cuda.cpp:\n{output}{errors.Result}");
        File.Move(temporary, library, overwrite: true);
        return library;
    }
}
