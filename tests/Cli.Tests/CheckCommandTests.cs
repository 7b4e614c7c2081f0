using System;
using System.IO;

namespace ModelDsl.Cli.Tests;

public sealed class CheckCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modeldsl-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Every_example_model_checks_clean()
    {
        var (exit, stdout, stderr) = CliRunner.Run("check", "examples");
        Assert.True(exit == 0, stdout + stderr);
        // Nothing in the examples warns (BertClassifier's encoder output is the second output of its one model).
        Assert.Contains("6 files checked: 0 errors, 0 warnings", stdout);
    }

    [Fact]
    public void An_error_is_printed_in_compiler_format_and_exits_1()
    {
        var path = Write("broken.model", "model M {\n    input x: f32[B, 784]\n    h = x -> dense(hiden)\n    output h\n}\n");
        var (exit, stdout, _) = CliRunner.Run("check", path);
        Assert.Equal(1, exit);
        Assert.Contains($"{path}(3,20): error MDL0100: 'hiden' is not defined", stdout);
        Assert.Contains("1 file checked: 1 error", stdout);
    }

    [Fact]
    public void All_independent_errors_are_reported_in_one_run()
    {
        var path = Write("many.model", "model M {\n    input x: f32[B, 784]\n    a = x -> dense(hiden)\n    b = x -> bogus(3)\n    c = x -> dense(10, nope=1)\n    output c\n}\n");
        var (exit, stdout, _) = CliRunner.Run("check", path);
        Assert.Equal(1, exit);
        Assert.Contains("(3,20): error MDL0100", stdout);
        Assert.Contains("(4,14): error MDL0102", stdout);
        Assert.Contains("(5,24): error MDL0103", stdout);
    }

    [Fact]
    public void Warnings_alone_exit_0()
    {
        var path = Write("config_only.model", "config { d = 4 }\n");
        var (exit, stdout, _) = CliRunner.Run("check", path);
        Assert.Equal(0, exit);
        Assert.Contains("warning MDL0006", stdout);
    }

    [Fact]
    public void A_missing_file_is_an_error_not_a_crash()
    {
        var (exit, _, stderr) = CliRunner.Run("check", Path.Combine(_dir, "nope.model"));
        Assert.Equal(1, exit);
        Assert.Contains("file not found", stderr);
    }

    [Fact]
    public void Binary_garbage_is_reported_without_a_stack_trace()
    {
        var path = Path.Combine(_dir, "garbage.model");
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var (exit, stdout, stderr) = CliRunner.Run("check", path);
        Assert.Equal(1, exit);
        Assert.Contains("error MDL0004", stdout);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public void Bad_usage_exits_2()
    {
        Assert.Equal(2, CliRunner.Run().ExitCode);
        Assert.Equal(2, CliRunner.Run("frobnicate").ExitCode);
        Assert.Equal(2, CliRunner.Run("check").ExitCode);
        Assert.Equal(0, CliRunner.Run("--help").ExitCode);
    }
}
