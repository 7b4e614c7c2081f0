using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace ModelDsl.Cli.Tests;

/// <summary>Runs the real <c>modeldsl</c> program (copied next to the tests) as a process, as a user would.</summary>
internal static class CliRunner
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) =>
        RunDll(Path.Combine(AppContext.BaseDirectory, "modeldsl.dll"), TimeSpan.FromSeconds(60), args);

    /// <summary>Runs <c>dotnet &lt;dll&gt; args</c> from the repository root, stdin closed, with a deadline.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunDll(string dll, TimeSpan timeout, params string[] args) =>
        RunDll(dll, timeout, environment: null, args);

    /// <summary>As above, with <paramref name="environment"/> set for the child process.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunDll(string dll, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Run("dotnet", [dll, .. args], timeout, environment);

    /// <summary>
    /// <c>mpirun -np <paramref name="ranks"/> dotnet &lt;dll&gt; args</c> (Open MPI; root needs --allow-run-as-root, and
    /// --oversubscribe lets the ranks start on a machine with fewer free slots). mpirun gives each rank a pseudo-terminal
    /// for stdout, on which .NET writes terminal set-up codes into the output: TERM=dumb (-x exports it) keeps it plain.
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr) RunDllUnderMpirun(int ranks, string dll, TimeSpan timeout, params string[] args) =>
        Run("mpirun", ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-x", "TERM=dumb", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", dll, .. args], timeout, environment: null);

    private static (int ExitCode, string Stdout, string Stderr) Run(string program, string[] args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("MODELDSL_DEBUG");
        if (environment is not null)
            foreach (var (name, value) in environment) start.Environment[name] = value;

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(" ", args)} did not finish in {timeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Example(string relative) => Path.Combine(RepoRoot, "examples", relative);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("ModelDsl.sln not found above the test output folder.");
    }
}
