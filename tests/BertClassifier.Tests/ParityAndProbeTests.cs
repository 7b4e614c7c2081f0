using System.Globalization;
using System.Text.RegularExpressions;
using BertClassifierExample.Bert;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>
/// The weights through bert_classifier.model's pretrained block (the package's model.onnx imported and cached), the
/// imported encoder (the model's second output) against model.onnx in ONNX Runtime, and the frozen-encoder probe.
/// </summary>
public sealed class ParityAndProbeTests
{
    [Fact]
    public void The_pretrained_block_loads_every_encoder_parameter_and_names_the_head_and_the_pooler()
    {
        var model = new BertClassifierExample.BertClassifier(13);
        var head = model.Parameters.Single(p => p.Name == "logits.1.weight").Value.ToArray();
        var report = model.LoadPretrained(Fixtures.Weights);
        // load_state_dict(strict=False): the new head is missing (it keeps its initialiser), the pooler unexpected.
        Assert.Equal(new[] { "logits.1.weight", "logits.1.bias" }, report.Missing);
        Assert.Equal(new[] { "pooler.dense.weight", "pooler.dense.bias" }, report.Unexpected);
        Assert.Equal(77, report.Loaded.Count);
        Assert.Equal(head, model.Parameters.Single(p => p.Name == "logits.1.weight").Value);
        Assert.Equal("all-MiniLM-L6-v2.safetensors: loaded 77 of 79 parameters; missing (kept at their initialiser): logits.1.weight, logits.1.bias; unexpected (not used): pooler.dense.weight, pooler.dense.bias", report.ToString());
        // Q, K and V stack into in_proj_weight in that order ({i} = 3, concat on axis 0).
        using var file = ModelDsl.Runtime.SafetensorsFile.Open(Fixtures.Weights);
        var inProj = model.Parameters.Single(p => p.Name == "l3_attn.in_proj_weight").Value;
        Assert.Equal(file.ReadSingles("encoder.layer.3.attention.self.key.weight"), inProj.AsSpan(384 * 384, 384 * 384).ToArray());
        Assert.Equal(file.ReadSingles("encoder.layer.5.output.LayerNorm.weight"), model.Parameters.Single(p => p.Name == "l5_ffn_norm.weight").Value);
    }

    [Fact]
    public void A_shape_mismatch_names_both_sides_and_loads_nothing()
    {
        string path = Path.Combine(Fixtures.TemporaryFolder(), "wrong.safetensors");
        var writer = new ModelDsl.Runtime.SafetensorsWriter();
        writer.AddSingles("embeddings.word_embeddings.weight", new[] { 30522, 384 }, new float[30522 * 384]);
        writer.AddSingles("encoder.layer.1.intermediate.dense.bias", new[] { 1535 }, new float[1535]);
        writer.Save(path);
        var model = new BertClassifierExample.BertClassifier(13);
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToList();
        var ex = Assert.Throws<InvalidDataException>(() => model.LoadPretrained(path));
        Assert.Contains("shape mismatch: BertClassifier's l1_ff.0.bias is [1536] but the checkpoint's encoder.layer.1.intermediate.dense.bias is [1535] (nothing was loaded)", ex.Message);
        Assert.Equal(before, model.Parameters.Select(p => p.Value.ToArray()).ToList());
    }

    [Fact]
    public void The_cached_import_is_reused_and_made_again_when_its_checksum_fails()
    {
        string folder = Fixtures.TemporaryFolder();
        var log = new List<string>();
        string path = MiniLmWeights.Cached(log.Add, folder);
        Assert.Single(log);
        Assert.Contains("(no imported copy yet)", log[0]);
        Assert.Null(MiniLmWeights.Stale(path));
        Assert.Equal(File.ReadAllBytes(Fixtures.Weights), File.ReadAllBytes(path));
        MiniLmWeights.Cached(log.Add, folder);
        Assert.Single(log);

        // One flipped bit in the data: the SHA-256 no longer matches, so it is imported again.
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.StartsWith("its SHA-256 ", MiniLmWeights.Stale(path));
        MiniLmWeights.Cached(log.Add, folder);
        Assert.Equal(2, log.Count);
        Assert.Contains("does not match all-MiniLM-L6-v2.safetensors.sha256's", log[1]);
        Assert.Null(MiniLmWeights.Stale(path));
        File.Delete(MiniLmWeights.ChecksumPath(path));
        Assert.Equal("no checksum file all-MiniLM-L6-v2.safetensors.sha256", MiniLmWeights.Stale(path));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void The_imported_encoder_matches_onnx_runtime_on_padded_batches()
    {
        // Batches of 8 sentences of 3 to 35 tokens, each padded to its longest: the attention mask at work.
        // Measured 6.2e-6; without the mask 2.25, with gelu's tanh form 5.6e-3, a wrong weight map O(0.1..1).
        var (exit, output) = ExampleRunTests.Run("--parity", Path.Combine(Fixtures.RepoRoot, "examples", "BertClassifier", "parity_sentences.txt"), "--batch", "8");
        Assert.True(exit == 0, output);
        Assert.Contains("weights: all-MiniLM-L6-v2.safetensors: loaded 77 of 79 parameters; missing (kept at their initialiser): logits.1.weight, logits.1.bias; unexpected (not used): pooler.dense.weight, pooler.dense.bias", output);
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
        using var encoder = new DeviceModel(Fixtures.Pretrained(), gpu: null);
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
