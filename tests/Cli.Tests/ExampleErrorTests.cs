using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Cli.Tests;

/// <summary>
/// Issue 17, item 7: ordinary user errors in the example programs end with one line naming the path or the problem
/// and exit code 1. Before: <c>BinaryClassifier --save &lt;a missing folder&gt;/x</c> trained an epoch and died with a
/// stack trace (exit 134), <c>--plot &lt;a folder&gt;</c> died after training, and any CudaException under
/// <c>--device emulated</c> was a stack trace. Output paths are now checked before the data is even loaded.
/// </summary>
public sealed class ExampleErrorTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlexample-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_folder.FullName, name);

    private static string FashionSample => Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample");

    private static string FortuneSample => Path.Combine(CliRunner.RepoRoot, "examples", "TextLstm", "sample");

    /// <summary>Runs the example expecting exit 1 and exactly one stderr line; returns that line and stdout.</summary>
    private static (string Error, string Stdout) Fails(string name, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string dll = Path.Combine(CliRunner.RepoRoot, "examples", name, "bin", configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the examples build with ModelDsl.sln (dotnet build ModelDsl.sln -c {configuration})");
        var (exit, stdout, stderr) = CliRunner.RunDll(dll, TimeSpan.FromSeconds(180), environment, args);
        Assert.True(exit == 1, $"{name} {string.Join(' ', args)} exited {exit}, not 1:\n{stdout}\n{stderr}");
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one error line, got:\n{stderr}");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        return (lines[0], stdout);
    }

    private static (string Error, string Stdout) Fails(string name, params string[] args) => Fails(name, null, args);

    [Fact]
    public void Binary_classifier_save_into_a_missing_folder_fails_before_training()
    {
        string path = PathOf(Path.Combine("missing", "best.safetensors"));
        var (error, stdout) = Fails("BinaryClassifier", "--epochs", "1", "--save", path, "--plot", PathOf("curves.png"));
        Assert.Equal($"error: --save {path}: cannot save: the folder {PathOf("missing")} does not exist", error);
        Assert.Equal("", stdout);   // before the data, the device and the first epoch
    }

    [Fact]
    public void Binary_classifier_plot_to_a_folder_fails_before_training()
    {
        var (error, stdout) = Fails("BinaryClassifier", "--epochs", "1", "--plot", _folder.FullName);
        Assert.Equal($"error: --plot {_folder.FullName}: is a folder; give a file name in it, such as {Path.Combine(_folder.FullName, "curves.png")}", error);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Binary_classifier_save_to_a_folder_or_a_device_fails_before_training()
    {
        var (error, _) = Fails("BinaryClassifier", "--epochs", "1", "--save", _folder.FullName, "--plot", PathOf("curves.png"));
        Assert.Equal($"error: --save {_folder.FullName}: cannot save a checkpoint there: it is a folder, not a regular file (refusing to replace it)", error);
        if (!OperatingSystem.IsLinux()) return;
        (error, _) = Fails("BinaryClassifier", "--epochs", "1", "--save", "/dev/null", "--plot", PathOf("curves.png"));
        Assert.Equal("error: --save /dev/null: cannot save a checkpoint there: it is a character device, not a regular file (refusing to replace it)", error);
    }

    [Fact]
    public void Binary_classifier_plot_under_a_file_fails_before_training()
    {
        string file = PathOf("a-file");
        File.WriteAllText(file, "");
        var (error, _) = Fails("BinaryClassifier", "--epochs", "1", "--plot", Path.Combine(file, "curves.png"));
        Assert.Equal($"error: --plot {Path.Combine(file, "curves.png")}: {file} is a file, not a folder", error);
    }

    [Fact]
    public void Fashion_mnist_checks_save_and_plot_before_training()
    {
        string path = PathOf(Path.Combine("missing", "fashion.safetensors"));
        var (error, stdout) = Fails("FashionMnist", FashionSample, "--epochs", "1", "--save", path);
        Assert.Equal($"error: --save {path}: cannot save: the folder {PathOf("missing")} does not exist", error);
        Assert.Equal("", stdout);
        (error, _) = Fails("FashionMnist", FashionSample, "--epochs", "1", "--plot", _folder.FullName);
        Assert.StartsWith($"error: --plot {_folder.FullName}: is a folder", error, StringComparison.Ordinal);
    }

    /// <summary>A CudaException under --device emulated (here: the emulator's cache folder cannot be created) is one line, exit 1, in every example that has --device.</summary>
    [Theory]
    [InlineData("BinaryClassifier")]
    [InlineData("FashionMnist")]
    [InlineData("TextLstm")]
    [InlineData("CharGpt")]
    public void A_cuda_error_under_the_emulator_is_one_line(string example)
    {
        string file = PathOf("not-a-folder");
        File.WriteAllText(file, "");
        var environment = new Dictionary<string, string> { ["MODELDSL_CACHE_DIR"] = file };
        string[] args = example switch
        {
            "BinaryClassifier" => ["--epochs", "1", "--device", "emulated", "--plot", PathOf("curves.png")],
            "FashionMnist" => [FashionSample, "--epochs", "1", "--device", "emulated", "--plot", PathOf("curves.png")],
            "TextLstm" => [FortuneSample, "--epochs", "1", "--device", "emulated"],
            _ => [FortuneSample, "--steps", "1", "--device", "emulated"],
        };
        var (error, _) = Fails(example, environment, args);
        Assert.StartsWith("error: CUDA module '", error, StringComparison.Ordinal);
        Assert.Contains($"cannot write the emulator's cache folder {file}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_data_folder_is_one_line()
    {
        string missing = PathOf("no-such-data");
        foreach (string example in new[] { "FashionMnist", "TextLstm", "CharGpt" })
        {
            var (error, _) = Fails(example, missing);
            Assert.Contains(missing, error, StringComparison.Ordinal);
        }
        var (csvError, _) = Fails("BinaryClassifier", PathOf("no-such.csv"), "--plot", PathOf("curves.png"));
        Assert.Contains(PathOf("no-such.csv"), csvError, StringComparison.Ordinal);
    }
}
