using System;
using System.IO;
using System.Linq;

namespace ModelDsl.Cli.Tests;

/// <summary>
/// Ordinary mistakes on the command line get one clear line on stderr and exit 1 (the input or a file) or 2 (bad
/// usage, including --bind); exit 3 ("internal error") is kept for bugs. Each case here once exited 3, printed only the
/// usage, or passed silently.
/// </summary>
public sealed class UserErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modeldsl-cli-errors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string CharGpt => CliRunner.Example("CharGpt/char_gpt.model");

    private static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + stderr);
        Assert.DoesNotContain("internal error", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
        return lines[0];
    }

    [Fact]
    public void Emit_to_an_existing_file_says_it_is_a_file_and_exits_1()
    {
        string file = Path.Combine(_dir, "taken");
        File.WriteAllText(file, "x");
        var (exit, _, stderr) = CliRunner.Run("emit", CharGpt, "--out", file);
        Assert.Equal(1, exit);
        Assert.Contains($"--out {file} is a file", OneLine(stderr));
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void Emit_to_a_folder_that_cannot_be_created_names_it_and_exits_1()
    {
        // Under a file, on every system and for every user (root included), no folder can be made.
        string file = Path.Combine(_dir, "plain");
        File.WriteAllText(file, "x");
        string target = Path.Combine(file, "sub");
        var (exit, _, stderr) = CliRunner.Run("emit", CharGpt, "--out", target);
        Assert.Equal(1, exit);
        Assert.Contains($"cannot write the generated files to {target}", OneLine(stderr));
    }

    [Fact]
    public void Emit_under_proc_is_an_error_not_an_internal_error()
    {
        var (exit, _, stderr) = CliRunner.Run("emit", CharGpt, "--out", "/proc/modeldsl-test/out");
        Assert.Equal(1, exit);
        Assert.Contains("cannot write the generated files to /proc/modeldsl-test/out", OneLine(stderr));
    }

    [Theory]
    [InlineData("B=0", "B=0 is not a size; a dimension must be an integer from 1 to 2,147,483,647")]
    [InlineData("B=-4", "B=-4 is not a size")]
    [InlineData("B=2147483648", "B=2147483648 is not a size")]
    [InlineData("B=lots", "B=lots is not a size")]
    [InlineData("B", "'B' is not of the form NAME=SIZE")]
    [InlineData("B=2,B=3", "B is given more than once")]
    [InlineData("Q=3", "model CharGpt has no dimension 'Q'; its symbolic dimensions are: B, T")]
    [InlineData("B=16,T=64,batch=3", "model CharGpt has no dimension 'batch'; its symbolic dimensions are: B, T")]
    public void A_bad_bind_is_one_line_naming_the_entry_and_exits_2(string bind, string expected)
    {
        var (exit, stdout, stderr) = CliRunner.Run("summary", CharGpt, "--bind", bind);
        Assert.Equal(2, exit);
        Assert.Contains(expected, OneLine(stderr));
        Assert.DoesNotContain("usage:", stderr);
        Assert.DoesNotContain("model CharGpt\n", stdout);
    }

    [Fact]
    public void Binding_a_model_without_symbolic_dimensions_says_so()
    {
        string path = Path.Combine(_dir, "fixed.model");
        File.WriteAllText(path, "model Fixed {\n    input x: f32[4, 3]\n    h = x -> dense(2)\n    output h\n}\n");
        var (exit, _, stderr) = CliRunner.Run("summary", path, "--bind", "B=8");
        Assert.Equal(2, exit);
        Assert.Contains("model Fixed has no dimension 'B'; it has no symbolic dimensions", OneLine(stderr));
    }

    [Fact]
    public void Sizes_whose_counts_pass_64_bits_are_a_bind_error_not_a_crash()
    {
        var (exit, stdout, stderr) = CliRunner.Run("summary", CharGpt, "--bind", "B=2147483647,T=2147483647");
        Assert.Equal(2, exit);
        Assert.Contains("--bind B=2147483647,T=2147483647: model CharGpt's tensor sizes, FLOPs or memory at these sizes do not fit in 64 bits", OneLine(stderr));
        Assert.Equal("", stdout);   // no half-printed table
    }

    [Fact]
    public void The_largest_sizes_that_fit_still_summarise()
    {
        var (exit, stdout, stderr) = CliRunner.Run("summary", CliRunner.Example("FashionMnist/fashion_mlp.model"), "--bind", "B=2147483647");
        Assert.True(exit == 0, stderr);
        Assert.Contains("symbolic dimensions: B=2147483647", stdout);
    }

    [Fact]
    public void Check_of_an_empty_folder_is_an_error()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var (exit, _, stderr) = CliRunner.Run("check", empty);
        Assert.Equal(1, exit);
        Assert.Contains($"no .model files under '{empty}'", OneLine(stderr));
    }
}
