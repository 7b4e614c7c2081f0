using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// A model's pretrained declaration through the real generator: the generated map and LoadPretrained on a small
/// synthetic checkpoint in Hugging Face BERT's names (separate query/key/value, a transposed weight, a pooler the model
/// does not have, no classification head), then training from the loaded values.
/// </summary>
public sealed class PretrainedLoadTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pretrained-gen-" + Guid.NewGuid().ToString("N"));

    public PretrainedLoadTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const int D = 8, Layers = 2, Vocab = 20;

    private static string Model(string file) => $@"config {{
    d = {D}
}}
block Layer(x, d) {{
    attn = x -> attention(2)
    h = x + attn -> layer_norm(eps=1e-12)
    ff = h -> dense(16) -> gelu -> dense(d)
    return h + ff -> layer_norm(eps=1e-12)
}}
model Cls {{
    input ids: i32[B, T]
    label y: i32[B]
    tok = embedding(ids, {Vocab}, d)
    hidden = tok -> repeat {Layers} Layer(d)
    cls = hidden -> select(axis=1, index=0)
    head = cls -> dense(3)
    output head
    loss cross_entropy(head, y)
    optimizer adamw(lr=1e-2)
    init head.weight normal(0, 0.02)
    pretrained ""{file}"" {{
        tok.weight <- embeddings.word_embeddings.weight
        hidden.{{i}}.attn.in_proj_{{kind}} <- concat(encoder.layer.{{i}}.attention.self.query.{{kind}}, encoder.layer.{{i}}.attention.self.key.{{kind}}, encoder.layer.{{i}}.attention.self.value.{{kind}})
        hidden.{{i}}.attn.out_proj.{{kind}} <- encoder.layer.{{i}}.attention.output.dense.{{kind}}
        hidden.{{i}}.h.{{kind}} <- encoder.layer.{{i}}.attention.output.LayerNorm.{{kind}}
        hidden.{{i}}.ff.0.weight <- transpose(encoder.layer.{{i}}.intermediate.dense.weight_in_out)
        hidden.{{i}}.ff.0.bias <- encoder.layer.{{i}}.intermediate.dense.bias
        hidden.{{i}}.ff.2.{{kind}} <- encoder.layer.{{i}}.output.dense.{{kind}}
        hidden.{{i}}.{{kind}} <- encoder.layer.{{i}}.output.LayerNorm.{{kind}}
    }}
}}
";

    /// <summary>A checkpoint in Hugging Face's names, each tensor filled with distinct values; returns them by name.</summary>
    private static Dictionary<string, (int[] Shape, float[] Data)> Checkpoint(bool pooler, int hiddenOfFirstOutputDense = D)
    {
        var random = new Random(5);
        var t = new Dictionary<string, (int[], float[])>();
        void Add(string name, params int[] shape) => t[name] = (shape, Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 0.2 - 0.1)).ToArray());
        Add("embeddings.word_embeddings.weight", Vocab, D);
        for (int i = 0; i < Layers; i++)
        {
            string l = $"encoder.layer.{i}.";
            foreach (var part in new[] { "query", "key", "value" }) { Add(l + $"attention.self.{part}.weight", D, D); Add(l + $"attention.self.{part}.bias", D); }
            Add(l + "attention.output.dense.weight", D, D); Add(l + "attention.output.dense.bias", D);
            Add(l + "attention.output.LayerNorm.weight", D); Add(l + "attention.output.LayerNorm.bias", D);
            Add(l + "intermediate.dense.weight_in_out", D, 16); Add(l + "intermediate.dense.bias", 16);
            Add(l + "output.dense.weight", i == 0 ? hiddenOfFirstOutputDense : D, 16); Add(l + "output.dense.bias", D);
            Add(l + "output.LayerNorm.weight", D); Add(l + "output.LayerNorm.bias", D);
        }
        if (pooler) { Add("pooler.dense.weight", D, D); Add("pooler.dense.bias", D); }
        return t;
    }

    private string Save(Dictionary<string, (int[] Shape, float[] Data)> tensors, string name)
    {
        var writer = new SafetensorsWriter();
        foreach (var (n, (shape, data)) in tensors) writer.AddSingles(n, shape, data);
        string path = Path.Combine(_folder, name);
        writer.Save(path);
        return path;
    }

    private static IReadOnlyList<Parameter> Parameters(GeneratedModel m, object instance) =>
        (IReadOnlyList<Parameter>)m.Type.GetProperty("Parameters")!.GetValue(instance)!;

    [Fact]
    public void LoadPretrained_maps_names_fuses_qkv_transposes_and_keeps_the_new_head()
    {
        var tensors = Checkpoint(pooler: true);
        // No path: PretrainedFile is looked up in the working directory, then next to the application (here the
        // tests' folder), never in the folder the .model file was generated from: the source names no build path.
        string file = "bert-" + Guid.NewGuid().ToString("N") + ".safetensors";
        string nextToApp = Path.Combine(AppContext.BaseDirectory, file);
        File.Move(Save(tensors, file), nextToApp);
        var compiled = GeneratedModel.Compile(Model(file), "Cls", seed: 2, path: Path.Combine(_folder, "cls.model"));
        // Only the #line directives (for the debugger) name the .model file's path; no code reads it.
        Assert.DoesNotContain(_folder, string.Join("\n", compiled.Source.Split('\n').Where(l => !l.TrimStart().StartsWith("#line", StringComparison.Ordinal))));
        Assert.Contains("global::ModelDsl.Runtime.Pretrained.Load(path ?? global::ModelDsl.Runtime.Pretrained.Resolve(PretrainedFile!), ModelName, Parameters, PretrainedMap);", compiled.Source);
        var model = compiled.NewInstance(2);
        var before = Parameters(compiled, model).ToDictionary(p => p.Name, p => p.Value.ToArray());

        PretrainedReport report;
        try
        {
            report = (PretrainedReport)compiled.Type.GetMethod("LoadPretrained")!.Invoke(model, [null])!;
        }
        finally
        {
            File.Delete(nextToApp);
        }
        Assert.Equal(nextToApp, report.Path);
        Assert.Equal(["head.weight", "head.bias"], report.Missing);
        Assert.Equal(["pooler.dense.weight", "pooler.dense.bias"], report.Unexpected);
        Assert.Equal(Parameters(compiled, model).Count - 2, report.Loaded.Count);

        var p = Parameters(compiled, model).ToDictionary(x => x.Name);
        Assert.Equal(tensors["embeddings.word_embeddings.weight"].Data, p["tok.weight"].Value);
        for (int i = 0; i < Layers; i++)
        {
            string l = $"encoder.layer.{i}.attention.self.";
            Assert.Equal(tensors[l + "query.weight"].Data.Concat(tensors[l + "key.weight"].Data).Concat(tensors[l + "value.weight"].Data), p[$"hidden.{i}.attn.in_proj_weight"].Value);
            Assert.Equal(tensors[l + "query.bias"].Data.Concat(tensors[l + "key.bias"].Data).Concat(tensors[l + "value.bias"].Data), p[$"hidden.{i}.attn.in_proj_bias"].Value);
            var inOut = tensors[$"encoder.layer.{i}.intermediate.dense.weight_in_out"].Data; // [8, 16] → [16, 8]
            Assert.Equal(Enumerable.Range(0, 16 * D).Select(k => inOut[(k % D) * 16 + k / D]), p[$"hidden.{i}.ff.0.weight"].Value);
            Assert.Equal(tensors[$"encoder.layer.{i}.output.LayerNorm.weight"].Data, p[$"hidden.{i}.weight"].Value);
        }
        Assert.Equal(before["head.weight"], p["head.weight"].Value); // the new head keeps its init (normal(0, 0.02))

        // It trains from there, and the generated map reads as the declaration does.
        var (x, y) = (new IntTensor(Enumerable.Range(0, 12).Select(k => k % Vocab).ToArray(), 3, 4), new IntTensor([0, 1, 2], 3));
        float first = (float)compiled.Type.GetMethod("TrainStep")!.Invoke(model, [x, y])!;
        float last = first;
        for (int step = 0; step < 60; step++) last = (float)compiled.Type.GetMethod("TrainStep")!.Invoke(model, [x, y])!;
        Assert.True(last < 0.3 * first, $"loss {first} → {last}");
        Assert.Contains("// hidden.1.attn.in_proj_weight [24, 8] <- concat(encoder.layer.1.attention.self.query.weight, encoder.layer.1.attention.self.key.weight, encoder.layer.1.attention.self.value.weight, axis=0)  (cls.model:23)", compiled.Source);
        Assert.Contains("[\"hidden.1.ff.0.weight\"] = global::ModelDsl.Runtime.PretrainedSource.Transpose(global::ModelDsl.Runtime.PretrainedSource.Tensor(\"encoder.layer.1.intermediate.dense.weight_in_out\")),", compiled.Source);
        Assert.Contains("// head.bias [3] <- head.bias  (its own name)", compiled.Source);
    }

    [Fact]
    public void A_shape_mismatch_fails_naming_both_sides_and_loads_nothing()
    {
        string path = Save(Checkpoint(pooler: false, hiddenOfFirstOutputDense: D + 1), "wrong.safetensors");
        var compiled = GeneratedModel.Compile(Model("bert.safetensors"), "Cls", seed: 2);
        var model = compiled.NewInstance(2);
        var before = Parameters(compiled, model).Select(p => p.Value.ToArray()).ToList();
        var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => compiled.Type.GetMethod("LoadPretrained")!.Invoke(model, [path]));
        var inner = Assert.IsType<InvalidDataException>(e.InnerException);
        Assert.Contains("Cls's hidden.0.ff.2.weight is [8, 16] but the checkpoint's encoder.layer.0.output.dense.weight is [9, 16]", inner.Message);
        Assert.Equal(before, Parameters(compiled, model).Select(p => p.Value.ToArray()).ToList());
    }
}
