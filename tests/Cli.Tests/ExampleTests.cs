using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelDsl.Cli.Tests;

/// <summary>
/// The examples people run first, end to end: built with the solution (the generator compiles their .model files),
/// trained on real data (the shipped Fashion-MNIST sample), checked on their final printed metric.
/// </summary>
public sealed class ExampleTests
{
    [Fact]
    public void Fashion_mlp_learns_on_the_shipped_sample()
    {
        var output = RunExample("FashionMnist", Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample"), "--epochs", "8");
        Assert.Contains("2,000 training and 500 test images", output);
        // Selection on rows held out of the training set, never on the test set (issue 15).
        Assert.Contains("1,800 to train on, 200 held out for validation", output);
        Assert.Matches(@"validation accuracy: 0\.\d{4} \(best epoch \d+", output);
        // Eight epochs over 1,800 images reach 0.818 (measured 2026-12-03); a broken backward pass stays near 0.10.
        Assert.True(FinalAccuracy(output) >= 0.75, output);
    }

    [Fact]
    public void Fashion_mlp_reaches_the_published_mlp_baseline_on_the_full_data_set()
    {
        const string folder = "/usr/share/datasets/fashion-mnist";
        if (!File.Exists(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz")))
        {
            // CI installs dataset-fashion-mnist (.ci/run), so there this always runs.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"CI must install dataset-fashion-mnist: {folder} is missing");
            return;
        }
        var output = RunExample("FashionMnist", folder);
        Assert.Contains("60,000 training and 10,000 test images", output);
        // The issue's bar: at least 0.88 (the data set's published MLP baselines are about 0.87-0.88).
        Assert.True(FinalAccuracy(output) >= 0.88, output);
    }

    [Fact]
    public void Fashion_mlp_trains_on_the_emulated_cuda_path_like_on_the_cpu()
    {
        // The generated CUDA C on the CPU emulator: the same data, seed and batches as the CPU run, so the same result.
        string sample = Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample");
        var gpu = RunExample("FashionMnist", sample, "--epochs", "3", "--device", "emulated", "--plot", Path.Combine(Path.GetTempPath(), "modeldsl-emulated.png"));
        var cpu = RunExample("FashionMnist", sample, "--epochs", "3", "--plot", Path.Combine(Path.GetTempPath(), "modeldsl-cpu.png"));
        Assert.Contains("device: CPU emulation", gpu);
        Assert.True(FinalAccuracy(gpu) >= 0.7, gpu);
        Assert.True(Math.Abs(FinalAccuracy(gpu) - FinalAccuracy(cpu)) <= 0.004, $"emulated CUDA:\n{gpu}\nCPU:\n{cpu}");
    }

    [Fact]
    public void Fashion_mlp_trains_data_parallel_on_two_mpi_ranks_to_the_accuracy_of_one()
    {
        if (!File.Exists("/usr/bin/mpirun"))
        {
            // CI installs Open MPI (.ci/run), so there this always runs.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "CI must install Open MPI (openmpi-bin): /usr/bin/mpirun is missing");
            return;
        }
        // The same seed and global batch (128) on 2 ranks of 64 rows each as on one process of 128. Dropout draws
        // different masks on rank 1, so the runs are not identical, only equally good.
        string sample = Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample");
        string plot = Path.Combine(Path.GetTempPath(), $"modeldsl-dp-{Environment.ProcessId}.png");
        var two = RunExample("FashionMnist", ranks: 2, sample, "--epochs", "8", "--distributed", "--plot", plot);
        var one = RunExample("FashionMnist", sample, "--epochs", "8", "--threads", "1", "--plot", plot);
        Assert.Contains("distributed: 2 ranks over libmpi.so.40", two);
        Assert.Contains("1 thread(s) each; global batch 128", two);
        Assert.Contains("gradient all-reduce on rank 0: ", two);
        // Only rank 0 prints: one line per epoch, one final accuracy.
        Assert.Single(two.Split('\n'), l => l.StartsWith("test accuracy: "));
        Assert.Equal(8, two.Split('\n').Count(l => l.StartsWith("epoch ")));
        Assert.True(FinalAccuracy(two) >= 0.75, two);
        Assert.True(Math.Abs(FinalAccuracy(two) - FinalAccuracy(one)) <= 0.03, $"2 ranks:\n{two}\n1 rank:\n{one}");
    }

    [Fact]
    public void Fashion_mlp_data_parallel_on_gpus_is_not_refused_and_a_missing_gpu_is_one_error_line()
    {
        if (!File.Exists("/usr/bin/mpirun"))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "CI must install Open MPI (openmpi-bin): /usr/bin/mpirun is missing");
            return;
        }
        // --distributed --device cuda trains one GPU per rank over NCCL (docs/distributed.md). Without a GPU (CI, this
        // project's machines) the first missing piece is named in one line; nothing crashes and nothing is refused.
        string sample = Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample");
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string dll = Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "bin", configuration, "net10.0", "FashionMnist.dll");
        var (exit, stdout, stderr) = CliRunner.RunDllUnderMpirun(1, dll, TimeSpan.FromSeconds(180), sample, "--epochs", "1", "--distributed", "--device", "cuda",
            "--plot", Path.Combine(Path.GetTempPath(), $"modeldsl-nccl-{Environment.ProcessId}.png"));
        string output = stdout + stderr;
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("not available in this example", output);
        if (exit == 0)
        {
            Assert.Contains("gradients: NCCL all-reduce over ", output); // a machine with a GPU and NCCL
            return;
        }
        Assert.Equal(1, exit);
        Assert.Matches(@"error: (no CUDA driver|no CUDA device|.*NVRTC|cuBLAS not found|data-parallel training on GPUs needs NCCL)", output);
    }

    [Fact]
    public void Fashion_cnn_learns_on_the_shipped_sample()
    {
        var output = RunExample("FashionMnist", Path.Combine(CliRunner.RepoRoot, "examples", "FashionMnist", "sample"), "--model", "cnn", "--epochs", "2",
            "--plot", Path.Combine(Path.GetTempPath(), "modeldsl-cnn.png"));
        Assert.Contains("model: FashionCnn, 421,642 parameters", output);
        // Two epochs over 2,000 images reach about 0.78; a broken convolution backward stays near 0.10.
        Assert.True(FinalAccuracy(output) >= 0.7, output);
    }

    [Fact]
    public void Fortune_lstm_classifies_the_shipped_sample_and_reports_the_bag_of_words_baseline()
    {
        var output = RunExample("TextLstm", Path.Combine(CliRunner.RepoRoot, "examples", "TextLstm", "sample"), "--epochs", "4");
        var match = System.Text.RegularExpressions.Regex.Match(output, @"test accuracy: (\d\.\d+) \(bag of words: (\d\.\d+)\)");
        Assert.True(match.Success, output);
        double lstm = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), words = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        // Four classes (chance 0.25; the largest is 0.25 of the sample). The LSTM learns; the baseline is computed, not printed from a constant.
        Assert.True(lstm >= 0.45, output);
        Assert.True(words >= 0.6, output);
    }

    [Fact]
    public void Fortune_lstm_trains_on_the_emulated_cuda_path_like_on_the_cpu()
    {
        // The embedding and LSTM kernels of the layer library on the CPU emulator, then the best epoch restored into the
        // session from its checkpoint (CopyToHost, Save, Load, CopyFromHost) and tested there: the CPU run's result.
        string sample = Path.Combine(CliRunner.RepoRoot, "examples", "TextLstm", "sample");
        var gpu = RunExample("TextLstm", sample, "--epochs", "2", "--device", "emulated");
        var cpu = RunExample("TextLstm", sample, "--epochs", "2");
        Assert.Contains("device: CPU emulation", gpu);
        var accuracy = new System.Text.RegularExpressions.Regex(@"test accuracy: (\d\.\d+)");
        double Accuracy(string output) => double.Parse(accuracy.Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(Accuracy(gpu) - Accuracy(cpu)) <= 0.02, $"emulated CUDA:\n{gpu}\nCPU:\n{cpu}");
    }

    [Fact]
    public void Char_gpt_lowers_its_validation_loss_and_samples_text()
    {
        var output = RunExample("CharGpt", Path.Combine(CliRunner.RepoRoot, "examples", "TextLstm", "sample"), "--steps", "40", "--length", "80");
        var match = System.Text.RegularExpressions.Regex.Match(output, @"validation loss: (\d+\.\d+) \(a uniform guess over (\d+) characters: (\d+\.\d+)\)");
        Assert.True(match.Success, output);
        double loss = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), uniform = double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        // 40 AdamW steps take the loss well below a uniform guess (ln 96 ≈ 4.56): character frequencies at least.
        Assert.True(loss < uniform - 0.8, output);
        Assert.Contains("sample (temperature 0.8, top-k 20):", output);
    }

    [Fact]
    public void Binary_classifier_learns_its_synthetic_problem()
    {
        var output = RunExample("BinaryClassifier", "--epochs", "10");
        // The curves and the best epoch use a validation part of the training rows; the test fifth is measured once.
        Assert.Matches(@"training, \d[\d,]* validation and \d[\d,]* test rows", output);
        // A linear model reaches about 0.6 on this problem; the 10-64-64-1 MLP about 0.9.
        Assert.True(FinalAccuracy(output) >= 0.85, output);
    }

    [Fact]
    public void Binary_classifier_trains_on_the_emulated_cuda_path_like_on_the_cpu()
    {
        // The same seeded data and batches on the emulated CUDA path; the best epoch is saved from the device
        // (CopyToHost) and restored into it (CopyFromHost) before the final test.
        string checkpoint = Path.Combine(Path.GetTempPath(), $"modeldsl-binary-{Environment.ProcessId}.safetensors");
        string plot = Path.Combine(Path.GetTempPath(), "modeldsl-binary.png");
        try
        {
            var gpu = RunExample("BinaryClassifier", "--epochs", "3", "--device", "emulated", "--save", checkpoint, "--plot", plot);
            var cpu = RunExample("BinaryClassifier", "--epochs", "3", "--plot", plot);
            Assert.Contains("device: CPU emulation", gpu);
            Assert.True(File.Exists(checkpoint), gpu);
            Assert.True(FinalAccuracy(gpu) >= 0.8, gpu);
            Assert.True(Math.Abs(FinalAccuracy(gpu) - FinalAccuracy(cpu)) <= 0.004, $"emulated CUDA:\n{gpu}\nCPU:\n{cpu}");
        }
        finally
        {
            File.Delete(checkpoint);
        }
    }

    private static double FinalAccuracy(string output)
    {
        var last = output.Split('\n').Select(l => l.Trim()).Last(l => l.Length > 0);
        Assert.StartsWith("test accuracy: ", last);
        return double.Parse(last["test accuracy: ".Length..], CultureInfo.InvariantCulture);
    }

    private static string RunExample(string name, params string[] args) => RunExample(name, ranks: 0, args);

    /// <summary>Runs an example alone (<paramref name="ranks"/> 0) or under mpirun with that many ranks.</summary>
    private static string RunExample(string name, int ranks, params string[] args)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string dll = Path.Combine(CliRunner.RepoRoot, "examples", name, "bin", configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the examples build with ModelDsl.sln (dotnet build ModelDsl.sln -c {configuration})");
        var (exit, stdout, stderr) = ranks == 0
            ? CliRunner.RunDll(dll, TimeSpan.FromSeconds(180), args)
            : CliRunner.RunDllUnderMpirun(ranks, dll, TimeSpan.FromSeconds(180), args);
        Assert.True(exit == 0, $"{name} exited {exit}: {stdout}{stderr}");
        return stdout;
    }
}
