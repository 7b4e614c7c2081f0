using System;
using System.IO;
using System.Linq;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.Generator.Tests.Training;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// bench/gpu_compare.sh's gpt2 row trains four model files (bench/GpuBench/Gpt2Rows.cs): gpt2_small.model, its
/// check-sized twin gpt2_check.model, and the 'precision bf16' twin of each. The twins must stay the same model: the
/// BF16 file is its FP32 file with a header, another model name and the precision line, and the check file has the
/// small one's blocks and statements with other config values. The BF16 twins' GPU code runs attention on tensor cores.
/// </summary>
public sealed class Gpt2BenchModelTests
{
    private static string Read(string file) => File.ReadAllText(RepoPaths.Combine("bench", "models", file)).Replace("\r\n", "\n");

    [Theory]
    [InlineData("gpt2_small", "Gpt2Small")]
    [InlineData("gpt2_check", "Gpt2Check")]
    public void The_bf16_twin_is_the_fp32_model_with_precision_bf16(string file, string model)
    {
        string fp32 = Read(file + ".model"), bf16 = Read(file + "_bf16.model");
        var lines = bf16.Split('\n').ToList();
        Assert.StartsWith($"// bench/models/{file}.model with 'precision bf16'", lines[0]);
        lines.RemoveRange(0, 2);                                                  // the header
        Assert.Single(lines, l => l.TrimStart().StartsWith("precision bf16", StringComparison.Ordinal));
        lines.RemoveAll(l => l.TrimStart().StartsWith("precision bf16", StringComparison.Ordinal));
        Assert.Equal(fp32, string.Join('\n', lines).Replace($"model {model}Bf16 {{", $"model {model} {{"));
    }

    [Fact]
    public void The_check_model_is_the_small_model_at_other_sizes()
    {
        static string Body(string text) => text[text.IndexOf("block ", StringComparison.Ordinal)..].Replace("Gpt2Small", "M").Replace("Gpt2Check", "M");
        Assert.Equal(Body(Read("gpt2_small.model")), Body(Read("gpt2_check.model")));
    }

    [Fact]
    public void The_bf16_check_twin_runs_attention_on_tensor_cores()
    {
        var compiled = GeneratedModel.Compile(Read("gpt2_check_bf16.model"), "Gpt2CheckBf16");
        Assert.Empty(compiled.Warnings);
        Assert.Contains("global::ModelDsl.Cuda.Layers.FlashAttention.Forward(", compiled.GpuSource);
        Assert.DoesNotContain("FlashAttention", GeneratedModel.Compile(Read("gpt2_check.model"), "Gpt2Check").GpuSource);
    }
}
