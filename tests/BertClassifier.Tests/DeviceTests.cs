using BertClassifierExample.Bert;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>
/// <c>--device emulated</c>: bert_classifier.model's generated GPU session, its CUDA C compiled by g++ against the
/// emulation header, at a tiny size against the CPU model: both outputs, then fine-tuning steps (dropout, AdamW, the
/// schedule and clipping on the device) and the parameters they leave.
/// </summary>
public sealed class DeviceTests
{
    [Fact]
    public void The_emulated_gpu_session_matches_the_cpu_forward_and_fine_tuning_steps()
    {
        var wordPiece = WordPiece.FromVocabulary(MiniLmPackage.Vocabulary());
        var batch = wordPiece.Batch(new[] { "Tasty.", "Stale crackers, crushed box." }, 16);
        IntTensor Ints(int[] values) => new(values, batch.Count, batch.Length);
        var (ids, segment, mask, labels) = (Ints(batch.InputIds), Ints(batch.TokenTypeIds), Ints(batch.AttentionMask), new IntTensor(new[] { 0, 1 }, 2));

        using var gpu = GpuContext.OpenEmulated();
        using var cpu = new DeviceModel(Fixtures.Pretrained(), gpu: null);
        using var emulated = new DeviceModel(Fixtures.Pretrained(), gpu);
        Assert.True(gpu.IsEmulated);
        foreach (var m in new[] { cpu, emulated })
        {
            m.Model.TotalSteps = 100;
            m.Model.LearningRate = 1e-3f;
        }

        var a = cpu.ForwardAll(ids, segment, mask);
        (float[] logits, float[] hidden) = (a.logits.Span.ToArray(), a.l5_ffn_norm.Span.ToArray());
        var b = emulated.ForwardAll(ids, segment, mask);
        Assert.True(MaxDiff(logits, b.logits.Span) <= 1e-4, $"logits differ by {MaxDiff(logits, b.logits.Span)}");
        Assert.True(MaxDiff(hidden, b.l5_ffn_norm.Span) <= 1e-4, $"last_hidden_state differs by {MaxDiff(hidden, b.l5_ffn_norm.Span)}");

        for (int step = 1; step <= 3; step++)
        {
            float cpuLoss = cpu.TrainStep(ids, segment, mask, labels), gpuLoss = emulated.TrainStep(ids, segment, mask, labels);
            Assert.True(Math.Abs(cpuLoss - gpuLoss) <= 1e-4 * Math.Max(1, Math.Abs(cpuLoss)), $"step {step}: loss {cpuLoss} on the CPU, {gpuLoss} emulated");
        }
        emulated.CopyToHost();
        foreach (string name in new[] { "logits.1.weight", "l0_attn.in_proj_weight", "tok.weight" })
        {
            var p = cpu.Model.Parameters.Single(x => x.Name == name).Value;
            var q = emulated.Model.Parameters.Single(x => x.Name == name).Value;
            Assert.True(MaxDiff(p, q) <= 1e-5, $"{name} differs by {MaxDiff(p, q)} after 3 steps");
        }
        // The head moved (the steps did something both sides agree on).
        Assert.True(MaxDiff(cpu.Model.Parameters.Single(x => x.Name == "logits.1.weight").Value, Fixtures.Pretrained().Parameters.Single(x => x.Name == "logits.1.weight").Value) > 1e-4);
    }

    [Fact]
    public void The_parity_check_runs_on_the_emulator()
    {
        string folder = Fixtures.TemporaryFolder();
        File.WriteAllText(Path.Combine(folder, "sentences.txt"), "Tasty.\nThe box arrived crushed and the crackers were stale.\nGreat coffee.\n");
        var (exit, output) = ExampleRunTests.RunIn(folder, "--device", "emulated", "--parity", "sentences.txt", "--batch", "3");
        Directory.Delete(folder, recursive: true);
        Assert.True(exit == 0, output);
        Assert.Contains("device: CPU emulation (", output);
        Assert.True(ParityAndProbeTests.MaxDiff(output, out int sentences) <= 1e-4, output);
        Assert.Equal(3, sentences);
    }

    private static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
