using System.Globalization;
using ModelDsl.Cli.Onnx;
using ModelDsl.Runtime;

namespace BertClassifierExample.Bert;

/// <summary>What <see cref="PretrainedWeights.Load"/> did, as PyTorch's <c>load_state_dict(strict=False)</c> reports it.</summary>
internal sealed record LoadReport(int Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

/// <summary>
/// The Hugging Face BERT checkpoint names of all-MiniLM-L6-v2 (as <c>modeldsl import-onnx</c> gives them) mapped onto
/// the parameters of bert_classifier.model, and loaded non-strictly: parameters with no source keep their initial
/// values and are reported missing, checkpoint tensors nothing reads are reported unexpected, and a shape mismatch is
/// an error naming both sides.
/// </summary>
/// <remarks>
/// The map, per layer i of <c>encoder.layer.i</c> → the bindings <c>li_…</c>: attention.self.query,
/// key and value → li_attn.in_proj_weight / in_proj_bias, stacked in that order (PyTorch's MultiheadAttention layout
/// [3d, d]); attention.output.dense → attn.out_proj; attention.output.LayerNorm → h; intermediate.dense → ff.0;
/// output.dense → ff.2; output.LayerNorm → the layer's own weight and bias. Embeddings: word_embeddings → tok,
/// token_type_embeddings → typ, position_embeddings → pos, LayerNorm → emb. The checkpoint's pooler is not used.
/// Linear weights are [out, in] on both sides (the importer transposes ONNX's [in, out]).
/// </remarks>
internal static class PretrainedWeights
{
    /// <summary>Each parameter name of the model and the checkpoint tensors that make it (several are stacked on axis 0).</summary>
    public static IReadOnlyList<(string Parameter, string[] Sources)> Map(int layers)
    {
        var map = new List<(string, string[])>
        {
            ("tok.weight", new[] { "embeddings.word_embeddings.weight" }),
            ("typ.weight", new[] { "embeddings.token_type_embeddings.weight" }),
            ("pos.weight", new[] { "embeddings.position_embeddings.weight" }),
            ("emb_norm.weight", new[] { "embeddings.LayerNorm.weight" }),
            ("emb_norm.bias", new[] { "embeddings.LayerNorm.bias" }),
        };
        for (int i = 0; i < layers; i++)
        {
            string ours = string.Create(CultureInfo.InvariantCulture, $"l{i}"), theirs = string.Create(CultureInfo.InvariantCulture, $"encoder.layer.{i}");
            foreach (string kind in new[] { "weight", "bias" })
            {
                map.Add(($"{ours}_attn.in_proj_{kind}", new[] { $"{theirs}.attention.self.query.{kind}", $"{theirs}.attention.self.key.{kind}", $"{theirs}.attention.self.value.{kind}" }));
                map.Add(($"{ours}_attn.out_proj.{kind}", new[] { $"{theirs}.attention.output.dense.{kind}" }));
                map.Add(($"{ours}_attn_norm.{kind}", new[] { $"{theirs}.attention.output.LayerNorm.{kind}" }));
                map.Add(($"{ours}_ff.0.{kind}", new[] { $"{theirs}.intermediate.dense.{kind}" }));
                map.Add(($"{ours}_ff.2.{kind}", new[] { $"{theirs}.output.dense.{kind}" }));
                map.Add(($"{ours}_ffn_norm.{kind}", new[] { $"{theirs}.output.LayerNorm.{kind}" }));
            }
        }
        return map;
    }

    /// <summary>
    /// Copies the mapped tensors into <paramref name="parameters"/>, matched by name.
    /// </summary>
    public static LoadReport Load(IReadOnlyList<Parameter> parameters, IReadOnlyList<ImportedTensor> checkpoint, int layers)
    {
        var tensors = checkpoint.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var byName = parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, sources) in Map(layers))
        {
            if (!byName.TryGetValue(name, out var parameter) || !sources.All(tensors.ContainsKey)) continue;
            var parts = sources.Select(s => tensors[s]).ToArray();
            // Stacked on axis 0: the parts share the trailing dimensions and their first ones add up.
            int[] shape = parts.Length == 1 ? parts[0].Shape
                : new[] { parts.Sum(p => p.Shape[0]) }.Concat(parts[0].Shape.Skip(1)).ToArray();
            bool stackable = parts.All(p => p.Shape.Length == parts[0].Shape.Length && p.Shape.Skip(1).SequenceEqual(parts[0].Shape.Skip(1)));
            if (!stackable || !shape.SequenceEqual(parameter.Shape))
                throw new InvalidDataException($"pretrained weights: {parameter.Name} is [{string.Join(", ", parameter.Shape)}] ({parameter.Source}) but {string.Join(" + ", parts.Select(p => $"{p.Name} [{string.Join(", ", p.Shape)}]"))} {(parts.Length > 1 ? "stack to" : "is")} [{string.Join(", ", shape)}]");
            int offset = 0;
            foreach (var part in parts)
            {
                part.Data.CopyTo(parameter.Value, offset);
                offset += part.Data.Length;
                used.Add(part.Name);
            }
            parameter.MarkChanged();
            loaded.Add(parameter.Name);
        }
        var missing = parameters.Where(p => !loaded.Contains(p.Name)).Select(p => p.Name).ToArray();
        var unexpected = checkpoint.Where(t => !used.Contains(t.Name)).Select(t => t.Name).ToArray();
        return new LoadReport(loaded.Count, missing, unexpected);
    }
}
