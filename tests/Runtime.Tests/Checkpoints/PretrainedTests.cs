using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Tests.Checkpoints;

/// <summary>
/// Pretrained.Load on small synthetic safetensors files: non-strict loading (missing keep their values, unexpected
/// are listed), shape mismatches naming both sides, transpose, and Hugging Face's separate query/key/value stacked
/// into a fused in_proj_weight.
/// </summary>
public sealed class PretrainedTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pretrained-" + Guid.NewGuid().ToString("N"));

    public PretrainedTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Counting(int n, float start) => Enumerable.Range(0, n).Select(i => start + i).ToArray();

    private string Write(params (string Name, int[] Shape, float[] Data)[] tensors)
    {
        var writer = new SafetensorsWriter();
        foreach (var (name, shape, data) in tensors) writer.AddSingles(name, shape, data);
        string path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".safetensors");
        writer.Save(path);
        return path;
    }

    private static Parameter P(string name, params int[] shape)
    {
        var p = new Parameter(name, shape, "test.model:1");
        Array.Fill(p.Value, -7f);
        return p;
    }

    [Fact]
    public void Loads_by_name_and_reports_missing_and_unexpected_like_strict_false()
    {
        string path = Write(("enc.weight", [2, 3], Counting(6, 0)), ("enc.bias", [2], Counting(2, 10)), ("pooler.dense.weight", [2, 2], Counting(4, 0)));
        var enc = P("enc.weight", 2, 3);
        var bias = P("enc.bias", 2);
        var head = P("head.weight", 4, 2);
        var report = Pretrained.Load(path, "M", [enc, bias, head], new Dictionary<string, PretrainedSource>());
        Assert.Equal(Counting(6, 0), enc.Value);
        Assert.Equal(Counting(2, 10), bias.Value);
        Assert.All(head.Value, v => Assert.Equal(-7f, v)); // missing: keeps its initial values
        Assert.Equal(["enc.weight", "enc.bias"], report.Loaded);
        Assert.Equal(["head.weight"], report.Missing);
        Assert.Equal(["pooler.dense.weight"], report.Unexpected);
        Assert.EndsWith(": loaded 2 of 3 parameters; missing (kept at their initialiser): head.weight; unexpected (not used): pooler.dense.weight", report.ToString());
    }

    [Fact]
    public void Renames_transposes_and_stacks_query_key_value_into_a_fused_projection()
    {
        const int d = 2;
        float[] q = Counting(d * d, 0), k = Counting(d * d, 100), v = Counting(d * d, 200);
        float[] qb = Counting(d, 1000), kb = Counting(d, 2000), vb = Counting(d, 3000);
        float[] inOut = Counting(3 * 2, 50); // stored [in=3, out=2], as an ONNX MatMul keeps it
        string path = Write(
            ("encoder.layer.0.attention.self.query.weight", [d, d], q), ("encoder.layer.0.attention.self.key.weight", [d, d], k),
            ("encoder.layer.0.attention.self.value.weight", [d, d], v), ("encoder.layer.0.attention.self.query.bias", [d], qb),
            ("encoder.layer.0.attention.self.key.bias", [d], kb), ("encoder.layer.0.attention.self.value.bias", [d], vb),
            ("proj", [3, 2], inOut), ("cols.a", [2, 1], [1, 2]), ("cols.b", [2, 2], [3, 4, 5, 6]));
        var w = P("h.0.attn.in_proj_weight", 3 * d, d);
        var b = P("h.0.attn.in_proj_bias", 3 * d);
        var t = P("fc.weight", 2, 3);
        var c = P("wide.weight", 2, 3);
        string Q(string kind, string part) => $"encoder.layer.0.attention.self.{part}.{kind}";
        var map = new Dictionary<string, PretrainedSource>
        {
            ["h.0.attn.in_proj_weight"] = PretrainedSource.Concat(0, PretrainedSource.Tensor(Q("weight", "query")), PretrainedSource.Tensor(Q("weight", "key")), PretrainedSource.Tensor(Q("weight", "value"))),
            ["h.0.attn.in_proj_bias"] = PretrainedSource.Concat(0, PretrainedSource.Tensor(Q("bias", "query")), PretrainedSource.Tensor(Q("bias", "key")), PretrainedSource.Tensor(Q("bias", "value"))),
            ["fc.weight"] = PretrainedSource.Transpose(PretrainedSource.Tensor("proj")),
            ["wide.weight"] = PretrainedSource.Concat(1, PretrainedSource.Tensor("cols.a"), PretrainedSource.Tensor("cols.b")),
        };
        var report = Pretrained.Load(path, "M", [w, b, t, c], map);
        Assert.Equal(q.Concat(k).Concat(v), w.Value);              // rows [0, d) query, [d, 2d) key, [2d, 3d) value
        Assert.Equal(qb.Concat(kb).Concat(vb), b.Value);
        Assert.Equal([50, 52, 54, 51, 53, 55], t.Value);             // [3, 2] → [2, 3]
        Assert.Equal([1, 3, 4, 2, 5, 6], c.Value);                   // row r: a[r], then b[r, :]
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        Assert.Equal("concat(encoder.layer.0.attention.self.query.weight, encoder.layer.0.attention.self.key.weight, encoder.layer.0.attention.self.value.weight, axis=0)", map["h.0.attn.in_proj_weight"].ToString());
    }

    [Fact]
    public void A_shape_mismatch_names_both_sides_and_changes_nothing()
    {
        string path = Write(("a.weight", [2, 3], Counting(6, 0)), ("b.weight", [4, 3], Counting(12, 0)), ("q", [2, 2], Counting(4, 0)), ("k", [2, 3], Counting(6, 0)));
        var a = P("a.weight", 2, 3);
        var b = P("b.weight", 3, 4);
        var fused = P("attn.in_proj_weight", 4, 2);
        var map = new Dictionary<string, PretrainedSource> { ["attn.in_proj_weight"] = PretrainedSource.Concat(0, PretrainedSource.Tensor("q"), PretrainedSource.Tensor("k")) };
        var e = Assert.Throws<InvalidDataException>(() => Pretrained.Load(path, "M", [a, b, fused], map));
        Assert.StartsWith(path + ": shape mismatch: ", e.Message);
        Assert.Contains("M's b.weight is [3, 4] but the checkpoint's b.weight is [4, 3]", e.Message);
        Assert.Contains("attn.in_proj_weight: concat along axis 0 needs parts that agree on every other axis, but q is [2, 2], k is [2, 3]", e.Message);
        Assert.All(a.Value, v => Assert.Equal(-7f, v)); // a fits, but nothing loads when anything mismatches
    }

    [Fact]
    public void A_concat_with_a_part_absent_is_missing_and_its_other_parts_unexpected()
    {
        string path = Write(("q", [1, 2], [1, 2]), ("k", [1, 2], [3, 4]));
        var fused = P("in_proj_weight", 3, 2);
        var map = new Dictionary<string, PretrainedSource> { ["in_proj_weight"] = PretrainedSource.Concat(0, PretrainedSource.Tensor("q"), PretrainedSource.Tensor("k"), PretrainedSource.Tensor("v")) };
        var report = Pretrained.Load(path, "M", [fused], map);
        Assert.Equal(["in_proj_weight"], report.Missing);
        Assert.Equal(["q", "k"], report.Unexpected);
        Assert.All(fused.Value, v => Assert.Equal(-7f, v));
    }

    [Fact]
    public void A_map_naming_no_parameter_and_a_missing_file_fail_clearly()
    {
        string path = Write(("a", [1], [1]));
        var a = P("a", 1);
        Assert.Throws<ArgumentException>(() => Pretrained.Load(path, "M", [a], new Dictionary<string, PretrainedSource> { ["b"] = PretrainedSource.Tensor("a") }));
        var e = Assert.Throws<FileNotFoundException>(() => Pretrained.Resolve("nowhere.safetensors", _folder, Path.GetTempPath()));
        Assert.Contains(Path.Combine(_folder, "nowhere.safetensors"), e.Message);
        Assert.Contains(Path.Combine(Path.GetTempPath(), "nowhere.safetensors"), e.Message);
    }

    [Fact]
    public void A_declared_file_is_found_in_the_working_directory_then_next_to_the_application()
    {
        // The generated LoadPretrained() resolves PretrainedFile at run time (no build path is baked in): a relative
        // name in the working directory first, else in the application's folder; an absolute path as it is.
        string app = Path.Combine(_folder, "app"), work = Path.Combine(_folder, "work");
        Directory.CreateDirectory(app);
        Directory.CreateDirectory(Path.Combine(work, "weights"));
        File.WriteAllText(Path.Combine(app, "w.safetensors"), "");
        Assert.Equal(Path.Combine(app, "w.safetensors"), Pretrained.Resolve("w.safetensors", work, app));
        File.WriteAllText(Path.Combine(work, "weights", "w.safetensors"), "");
        Assert.Equal(Path.Combine(work, "weights", "w.safetensors"), Pretrained.Resolve(Path.Combine("weights", "w.safetensors"), work, app));
        File.WriteAllText(Path.Combine(work, "w.safetensors"), "");
        Assert.Equal(Path.Combine(work, "w.safetensors"), Pretrained.Resolve("w.safetensors", work, app));
        string absolute = Path.Combine(_folder, "elsewhere", "w.safetensors");
        Assert.Equal(absolute, Pretrained.Resolve(absolute, work, app));
        // The public overload reads the process's working directory and AppContext.BaseDirectory.
        string nextToTests = "pretrained-resolve-" + Guid.NewGuid().ToString("N") + ".safetensors";
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, nextToTests), "");
        try
        {
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, nextToTests), Pretrained.Resolve(nextToTests));
        }
        finally
        {
            File.Delete(Path.Combine(AppContext.BaseDirectory, nextToTests));
        }
    }
}
