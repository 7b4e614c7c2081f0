using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace ModelDsl.Distributed.Tests;

/// <summary>
/// The stand-in libnccl of StandInNccl/nccl_standin.cpp: a TEST DOUBLE, NOT NCCL (shared memory between the ranks of
/// one machine, for the CPU emulator of the GPU, whose device memory is host memory). Built once per source version
/// with g++ into the temp directory, like the emulator's modules; the ranks load it through MODELDSL_NCCL_LIBRARY.
/// </summary>
internal static class StandInNccl
{
    private static readonly Lazy<string> s_library = new(Build);

    /// <summary>The built library's path.</summary>
    public static string LibraryPath => s_library.Value;

    /// <summary>The environment that makes the ranks load the stand-in (and nothing else of the machine's).</summary>
    public static IReadOnlyDictionary<string, string> Environment(double? timeoutSeconds = null)
    {
        var environment = new Dictionary<string, string> { ["MODELDSL_NCCL_LIBRARY"] = LibraryPath };
        if (timeoutSeconds is { } t) environment["MODELDSL_DISTRIBUTED_TIMEOUT"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment;
    }

    private static string Build()
    {
        string source;
        using (Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ModelDsl.Distributed.Tests.nccl_standin.cpp")
            ?? throw new InvalidOperationException("nccl_standin.cpp is not embedded in the test assembly"))
        using (var reader = new StreamReader(stream))
            source = reader.ReadToEnd();

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..16];
        string directory = Path.Combine(Path.GetTempPath(), "modeldsl-tests", "nccl-standin");
        string library = Path.Combine(directory, $"libnccl-standin-{hash}.so");
        if (File.Exists(library)) return library;

        Directory.CreateDirectory(directory);
        string unique = $"{System.Environment.ProcessId}-{Guid.NewGuid():N}";
        string sourcePath = Path.Combine(directory, $"nccl_standin-{unique}.cpp");
        string temporary = Path.Combine(directory, $"libnccl-standin-{unique}.so");
        File.WriteAllText(sourcePath, source);
        var start = new ProcessStartInfo(System.Environment.GetEnvironmentVariable("CXX") is { Length: > 0 } cxx ? cxx : "g++")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-std=c++17", "-O2", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden", "-o", temporary, sourcePath })
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("g++ did not start");
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException("g++ took over 2 minutes to build nccl_standin.cpp");
        }
        File.Delete(sourcePath);
        if (process.ExitCode != 0) throw new InvalidOperationException($"g++ could not build nccl_standin.cpp:\n{output}{errors.Result}");
        File.Move(temporary, library, overwrite: true);
        return library;
    }
}
