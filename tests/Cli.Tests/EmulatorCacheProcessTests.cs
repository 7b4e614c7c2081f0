using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;

namespace ModelDsl.Cli.Tests;

/// <summary>
/// Issue 17, item 6, across processes: the emulator's module cache as separate runs of an example see it. Three
/// processes that compile one module into an empty cache at once all train to the same result and leave one verified
/// entry; a run after the library was truncated, emptied or bit-flipped rebuilds it and trains to that result again
/// (before: SIGBUS, SIGILL/SIGSEGV, wrong accuracy, or a CudaException on every run).
/// </summary>
public sealed class EmulatorCacheProcessTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlemucache-");

    public void Dispose() => _folder.Delete(recursive: true);

    private (int Exit, string Stdout, string Stderr) RunBinaryClassifier()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string dll = Path.Combine(CliRunner.RepoRoot, "examples", "BinaryClassifier", "bin", configuration, "net10.0", "BinaryClassifier.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the examples build with ModelDsl.sln");
        var environment = new Dictionary<string, string> { ["MODELDSL_CACHE_DIR"] = _folder.FullName };
        return CliRunner.RunDll(dll, TimeSpan.FromSeconds(180), environment,
            "--epochs", "1", "--device", "emulated", "--plot", Path.Combine(_folder.FullName, $"curves-{Guid.NewGuid():N}.png"));
    }

    private static string LastLine(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

    private string Library() => Directory.GetFiles(Path.Combine(_folder.FullName, "emulated"), "module.so", SearchOption.AllDirectories).Single();

    /// <summary>The record's hash checked here with its own SHA-256, not through the cache's code.</summary>
    private void AssertVerifiedEntry()
    {
        string library = Library();
        byte[] bytes = File.ReadAllBytes(library);
        Assert.Equal($"modeldsl-emulated-module v1 bytes={bytes.Length} sha256={Convert.ToHexStringLower(SHA256.HashData(bytes))}\n",
            File.ReadAllText(library + ".sha256"));
        Assert.DoesNotContain(Directory.GetFiles(Path.GetDirectoryName(library)!), f => f.Contains(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_runs_share_one_verified_entry_and_damaged_entries_are_rebuilt()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(RunBinaryClassifier)));
        foreach (var run in runs)
            Assert.True(run.Exit == 0, $"exit {run.Exit}:\n{run.Stdout}\n{run.Stderr}");
        string expected = LastLine(runs[0].Stdout);
        Assert.StartsWith("test accuracy: ", expected, StringComparison.Ordinal);
        Assert.All(runs, run => Assert.Equal(expected, LastLine(run.Stdout)));
        AssertVerifiedEntry();

        byte[] good = File.ReadAllBytes(Library());
        var damages = new (string Name, Action<string> Apply)[]
        {
            ("truncated", path => { using var s = new FileStream(path, FileMode.Open, FileAccess.Write); s.SetLength(good.Length / 3); }),
            ("empty", path => { using var s = new FileStream(path, FileMode.Open, FileAccess.Write); s.SetLength(0); }),
            ("bit flipped", path =>
            {
                byte[] flipped = (byte[])good.Clone();
                flipped[good.Length / 2] ^= 0x08;
                File.WriteAllBytes(path, flipped);
            }),
        };
        foreach (var (name, apply) in damages)
        {
            apply(Library());
            var (exit, stdout, stderr) = RunBinaryClassifier();
            Assert.True(exit == 0, $"after a {name} module.so: exit {exit}\n{stdout}\n{stderr}");
            Assert.Equal(expected, LastLine(stdout));
            AssertVerifiedEntry();
        }
    }
}
