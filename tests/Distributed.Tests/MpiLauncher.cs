using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace ModelDsl.Distributed.Tests;

/// <summary>Runs tests/DistributedRun alone or under <c>mpirun -np N</c>, with a hard timeout, output captured.</summary>
internal static class MpiLauncher
{
    /// <summary>No test launch may take longer than this: a hang fails the test instead of the CI job.</summary>
    public static readonly TimeSpan HardLimit = TimeSpan.FromSeconds(90);

    public static string RunDll { get; } = FindRunDll();

    /// <summary>mpirun's path, or null (then every test here fails under CI=true and returns early elsewhere).</summary>
    public static string? Mpirun { get; } = Which("mpirun");

    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    /// <summary><c>mpirun -np <paramref name="ranks"/> dotnet DistributedRun.dll args</c>.</summary>
    public static Result Mpi(int ranks, params string[] args) => Mpi(null, ranks, args);

    /// <summary><c>mpirun -np <paramref name="ranks"/> -x NAME=value ... dotnet DistributedRun.dll args</c>: <paramref name="environment"/> reaches every rank.</summary>
    public static Result Mpi(IReadOnlyDictionary<string, string>? environment, int ranks, params string[] args) =>
        Mpi(environment, [], ranks, args);

    /// <summary>As above, with <paramref name="mpirunOptions"/> for mpirun itself (<c>--mca name value</c>).</summary>
    public static Result Mpi(IReadOnlyDictionary<string, string>? environment, IReadOnlyList<string> mpirunOptions, int ranks, params string[] args)
    {
        // Root needs --allow-run-as-root (CI containers run as root); --oversubscribe lets 2 ranks start on a machine
        // with fewer free slots; --bind-to none leaves the cores to the OS, since other tests run beside these. mpirun
        // gives each rank a pseudo-terminal for stdout, on which .NET writes terminal set-up codes: TERM=dumb avoids them.
        var arguments = new List<string> { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-x", "TERM=dumb" };
        if (environment is not null)
            foreach (var (name, value) in environment) arguments.AddRange(["-x", $"{name}={value}"]);
        arguments.AddRange(mpirunOptions);
        arguments.AddRange(["-np", ranks.ToString(), Dotnet(), RunDll]);
        arguments.AddRange(args);
        return Run(Mpirun!, arguments, environment: null);
    }

    /// <summary><c>dotnet DistributedRun.dll args</c>: one process, no mpirun.</summary>
    public static Result Alone(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var arguments = new List<string> { RunDll };
        arguments.AddRange(args);
        return Run(Dotnet(), arguments, environment);
    }

    /// <summary>False (and a failure under CI=true) when Open MPI is not installed.</summary>
    public static bool Available()
    {
        if (Mpirun is not null) return true;
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "CI must install Open MPI (openmpi-bin): mpirun is not on PATH (.ci/run installs it)");
        return false;
    }

    private static Result Run(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
            foreach (var (name, value) in environment) start.Environment[name] = value;
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(HardLimit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{program} {string.Join(' ', arguments)} did not finish within {HardLimit.TotalSeconds} s:\n{output}");
        }
        process.WaitForExit();
        lock (output) return new Result(process.ExitCode, output.ToString(), clock.Elapsed);
    }

    private static string Dotnet() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Which("dotnet") ?? "dotnet";

    private static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string FindRunDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string dll = Path.Combine(dir.FullName, "tests", "DistributedRun", "bin", configuration, "net10.0", "DistributedRun.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: it builds with tests/Distributed.Tests (a project reference)");
        return dll;
    }
}
