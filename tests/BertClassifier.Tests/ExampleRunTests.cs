using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>The example program run as a user runs it (BertClassifier.dll, copied beside the tests with its sample).</summary>
public sealed class ExampleRunTests
{
    [Fact]
    public void The_bag_of_words_baseline_beats_chance_on_the_shipped_sample()
    {
        var (exit, output) = Run(Fixtures.Sample);
        Assert.True(exit == 0, output);
        Assert.Contains("360 training, 40 validation and 200 test reviews", output);
        // 129 of the 200 sample test reviews are "great": always answering "great" scores 0.645. Measured 0.7100.
        Assert.True(Accuracy(output, "bag-of-words") >= 0.68, output);
    }

    [Fact]
    public void A_missing_data_folder_is_one_error_line()
    {
        var (exit, output) = Run("/nonexistent/reviews");
        Assert.Equal(1, exit);
        Assert.Equal("error: /nonexistent/reviews: neither modeldata's Rdata.rdx nor reviews_train.tsv is there", output.Trim());
    }

    internal static double Accuracy(string output, string what)
    {
        var match = Regex.Match(output, $@"^{Regex.Escape(what)} accuracy: (0\.\d{{4}}|1\.0000)", RegexOptions.Multiline);
        Assert.True(match.Success, $"no '{what} accuracy:' line in:\n{output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    internal static (int Exit, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Fixtures.RepoRoot,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "BertClassifier.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"BertClassifier {string.Join(" ", args)} did not finish in 5 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
