using System;
using System.Diagnostics;
using System.IO;

namespace ModelDsl.Cli.Tests;

/// <summary>Runs the real <c>modeldsl</c> program (copied next to the tests) as a process, as a user would.</summary>
internal static class CliRunner
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "modeldsl.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("MODELDSL_DEBUG");

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"modeldsl {string.Join(" ", args)} did not finish in 60 s");
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
