using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime;

/// <summary>
/// Where one parameter's values come from in a pretrained checkpoint: a tensor by name, a transposed source, or
/// sources concatenated along an axis (Hugging Face BERT's query, key and value [d, d] weights stacked into
/// attention's fused in_proj_weight [3d, d]). A model's <c>pretrained</c> block compiles to one of these per parameter
/// (docs/pretrained.md).
/// </summary>
public abstract class PretrainedSource
{
    private protected PretrainedSource()
    {
    }

    /// <summary>The checkpoint tensor named <paramref name="name"/>, as stored.</summary>
    public static PretrainedSource Tensor(string name) => new TensorSource(name);

    /// <summary>A 2-D source with its axes swapped (<c>[in, out]</c> → <c>[out, in]</c>).</summary>
    public static PretrainedSource Transpose(PretrainedSource source) => new TransposeSource(source);

    /// <summary>The sources joined along <paramref name="axis"/>; every other dimension must agree.</summary>
    public static PretrainedSource Concat(int axis, params PretrainedSource[] sources) => new ConcatSource(axis, sources);

    /// <summary>The checkpoint tensors this source reads, in order.</summary>
    public abstract IEnumerable<string> Names { get; }

    /// <summary>The source as the <c>.model</c> file writes it: <c>concat(a.weight, b.weight, axis=0)</c>.</summary>
    public abstract override string ToString();

    /// <summary>The values and shape, or null when a tensor it needs is not in the file.</summary>
    internal abstract (float[] Values, int[] Shape)? Evaluate(Func<string, (float[] Values, int[] Shape)?> read, string parameter);

    private sealed class TensorSource(string name) : PretrainedSource
    {
        public override IEnumerable<string> Names => [name];

        public override string ToString() => name;

        internal override (float[] Values, int[] Shape)? Evaluate(Func<string, (float[] Values, int[] Shape)?> read, string parameter) => read(name);
    }

    private sealed class TransposeSource(PretrainedSource source) : PretrainedSource
    {
        public override IEnumerable<string> Names => source.Names;

        public override string ToString() => $"transpose({source})";

        internal override (float[] Values, int[] Shape)? Evaluate(Func<string, (float[] Values, int[] Shape)?> read, string parameter)
        {
            if (source.Evaluate(read, parameter) is not { } value) return null;
            var (values, shape) = value;
            if (shape.Length != 2)
                throw new InvalidDataException($"{parameter}: transpose needs a 2-D tensor, but {source} is {Shapes.Format(shape)}");
            int rows = shape[0], cols = shape[1];
            var result = new float[values.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    result[c * rows + r] = values[r * cols + c];
            return (result, [cols, rows]);
        }
    }

    private sealed class ConcatSource(int axis, PretrainedSource[] sources) : PretrainedSource
    {
        public override IEnumerable<string> Names => sources.SelectMany(s => s.Names);

        public override string ToString() => $"concat({string.Join(", ", sources.Select(s => s.ToString()))}, axis={axis})";

        internal override (float[] Values, int[] Shape)? Evaluate(Func<string, (float[] Values, int[] Shape)?> read, string parameter)
        {
            var parts = new List<(float[] Values, int[] Shape)>();
            foreach (var s in sources)
            {
                if (s.Evaluate(read, parameter) is not { } part) return null;
                parts.Add(part);
            }
            int[] first = parts[0].Shape;
            bool fits = axis < first.Length && parts.All(p => p.Shape.Length == first.Length &&
                Enumerable.Range(0, first.Length).All(d => d == axis || p.Shape[d] == first[d]));
            if (!fits)
                throw new InvalidDataException($"{parameter}: concat along axis {axis} needs parts that agree on every other axis, but " +
                    string.Join(", ", sources.Zip(parts, (s, p) => $"{s} is {Shapes.Format(p.Shape)}")));
            int[] shape = (int[])first.Clone();
            shape[axis] = parts.Sum(p => p.Shape[axis]);
            // Rows of the leading axes, each made of one block per part: [outer, axis·inner] per part.
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= first[d];
            for (int d = axis + 1; d < first.Length; d++) inner *= first[d];
            var result = new float[parts.Sum(p => p.Values.Length)];
            int at = 0;
            for (int o = 0; o < outer; o++)
            {
                foreach (var p in parts)
                {
                    int block = p.Shape[axis] * inner;
                    Array.Copy(p.Values, o * block, result, at, block);
                    at += block;
                }
            }
            return (result, shape);
        }
    }
}

/// <summary>
/// What <see cref="Pretrained.Load"/> did, as PyTorch's <c>load_state_dict(strict=False)</c> reports it: the
/// parameters loaded, those missing from the checkpoint (they keep their initialiser, like a new classification
/// head), and the checkpoint tensors nothing read.
/// </summary>
public sealed class PretrainedReport
{
    internal PretrainedReport(string path, IReadOnlyList<string> loaded, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected)
    {
        Path = path;
        Loaded = loaded;
        Missing = missing;
        Unexpected = unexpected;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Parameters now holding checkpoint values, in the model's order.</summary>
    public IReadOnlyList<string> Loaded { get; }

    /// <summary>Parameters whose source is not in the file (PyTorch's missing_keys): they keep their initial values.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Checkpoint tensors no parameter reads (PyTorch's unexpected_keys).</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>
    /// <c>minilm.safetensors: loaded 77 of 79 parameters; missing (kept at their initialiser): head.weight, head.bias;
    /// unexpected (not used): pooler.dense.weight, pooler.dense.bias</c>.
    /// </summary>
    public override string ToString()
    {
        static string List(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
        return $"{System.IO.Path.GetFileName(Path)}: loaded {Loaded.Count} of {Loaded.Count + Missing.Count} parameters; " +
            $"missing (kept at their initialiser): {List(Missing)}; unexpected (not used): {List(Unexpected)}";
    }
}

/// <summary>
/// Loads pretrained weights non-strictly (PyTorch's <c>load_state_dict(strict=False)</c>) through a name map: each
/// parameter from its <see cref="PretrainedSource"/>. A parameter whose tensors are not all in the file is missing and
/// keeps its values; a tensor no source reads is unexpected; a source whose shape differs from its parameter's is an
/// error naming both sides and both shapes. Every source is read and checked before any parameter changes.
/// </summary>
public static class Pretrained
{
    /// <param name="path">The safetensors file (float32 tensors).</param>
    /// <param name="modelName">For messages.</param>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="map">The source of each parameter by name; a parameter not in it reads the tensor of its own name.</param>
    /// <exception cref="InvalidDataException">A shape mismatch (all of them listed), a tensor that is not float32, or a corrupt file; nothing is changed.</exception>
    public static PretrainedReport Load(string path, string modelName, IReadOnlyList<Parameter> parameters, IReadOnlyDictionary<string, PretrainedSource> map)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(map);
        foreach (string name in map.Keys)
        {
            if (!parameters.Any(p => p.Name == name))
                throw new ArgumentException($"The map names '{name}', which is not a parameter of {modelName}.", nameof(map));
        }
        Checkpoint.ThrowIfFolder(path);
        using SafetensorsFile file = SafetensorsFile.Open(path);

        // A tensor counts as used only when the parameter it feeds loads: the parts of a concat with one part absent are unexpected.
        var used = new HashSet<string>(StringComparer.Ordinal);
        var reading = new List<string>();
        (float[] Values, int[] Shape)? Read(string name)
        {
            if (!file.TryGetTensor(name, out SafetensorsTensor t)) return null;
            if (t.DType != SafetensorsDType.F32)
                throw Checkpoint.Fail(path, $"tensor '{name}' has dtype {t.DType.Name()}; pretrained weights are read as float32 (convert the file first)");
            reading.Add(name);
            var values = new float[t.ElementCount];
            file.ReadSingles(t, values);
            return (values, t.Shape);
        }

        var loaded = new List<(Parameter Parameter, float[] Values)>();
        var missing = new List<string>();
        var mismatches = new List<string>();
        foreach (Parameter p in parameters)
        {
            PretrainedSource source = map.TryGetValue(p.Name, out var s) ? s : PretrainedSource.Tensor(p.Name);
            (float[] Values, int[] Shape)? value;
            reading.Clear();
            try
            {
                value = source.Evaluate(Read, p.Name);
            }
            catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
            {
                mismatches.Add(e.Message);
                continue;
            }
            if (value is not { } found)
            {
                missing.Add(p.Name);
                continue;
            }
            var (values, shape) = found;
            if (!shape.AsSpan().SequenceEqual(p.Shape))
            {
                mismatches.Add($"{modelName}'s {p.Name} is {Shapes.Format(p.Shape)} but the checkpoint's {source} is {Shapes.Format(shape)}");
                continue;
            }
            loaded.Add((p, values));
            used.UnionWith(reading);
        }
        if (mismatches.Count > 0)
            throw Checkpoint.Fail(path, "shape mismatch: " + string.Join("; ", mismatches) + " (nothing was loaded)");

        foreach (var (p, values) in loaded)
        {
            values.CopyTo(p.Value, 0);
            p.MarkChanged();
        }
        var unexpected = file.Tensors.Where(t => !used.Contains(t.Name)).Select(t => t.Name).ToList();
        return new PretrainedReport(path, loaded.Select(l => l.Parameter.Name).ToList(), missing, unexpected);
    }

    /// <summary>
    /// The file a <c>pretrained "file"</c> declaration names, found at run time the way a program finds a file
    /// argument: an absolute path as it is; a relative one in the working directory, else next to the application
    /// (a file the project copies to its output). The folder the code was generated in plays no part, so a program
    /// run from another folder or on another machine finds the file the same way.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither exists; the message names both places.</exception>
    public static string Resolve(string file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Resolve(file, Environment.CurrentDirectory, AppContext.BaseDirectory);
    }

    /// <summary><see cref="Resolve(string)"/> with the two folders given (tests).</summary>
    internal static string Resolve(string file, string workingDirectory, string applicationDirectory)
    {
        if (System.IO.Path.IsPathRooted(file)) return file;
        string inWorkingDirectory = System.IO.Path.GetFullPath(file, workingDirectory);
        if (File.Exists(inWorkingDirectory)) return inWorkingDirectory;
        string nextToApp = System.IO.Path.GetFullPath(file, applicationDirectory);
        if (File.Exists(nextToApp)) return nextToApp;
        throw new FileNotFoundException($"pretrained weights '{file}' are neither in the working directory ({inWorkingDirectory}) nor next to the application ({nextToApp}); pass the path to LoadPretrained", file);
    }
}
