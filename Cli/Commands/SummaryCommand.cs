using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Cli.Commands;

/// <summary><c>modeldsl summary &lt;file&gt;</c>: each layer with its output shape and parameter count, then totals (like Keras' model.summary()).</summary>
internal static class SummaryCommand
{
    private const string Usage = "usage: modeldsl summary <file> [--bind B=32,T=64]";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? path = null;
        var bindings = new Dictionary<string, long>(System.StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--bind" && i + 1 < args.Count && TryParseBindings(args[i + 1], bindings))
            {
                i++;
            }
            else if (!args[i].StartsWith('-') && path is null)
            {
                path = args[i];
            }
            else
            {
                stderr.WriteLine(Usage);
                return ExitCodes.Usage;
            }
        }

        if (path is null)
        {
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }

        if (!File.Exists(path))
        {
            stderr.WriteLine($"modeldsl: error: file not found: {path}");
            return ExitCodes.Errors;
        }

        var result = Compilation.Compile(ModelSource.Read(path));
        foreach (var diagnostic in result.Diagnostics) stdout.WriteLine(diagnostic.Format(result.Text));
        if (result.HasErrors) return ExitCodes.Errors;

        foreach (var model in result.Models) Write(model, bindings, stdout);
        return ExitCodes.Success;
    }

    private static void Write(ModelGraph model, IReadOnlyDictionary<string, long> bindings, TextWriter stdout)
    {
        string ShapeText(Shape shape) => Bind(shape, bindings);

        var rows = new List<string[]> { new[] { "layer", "op", "output shape", "params" } };
        foreach (var input in model.Inputs)
            rows.Add(new[] { input.Name, "input", input.DType.ToSource() + ShapeText(input.Shape), "0" });
        foreach (var node in model.Nodes)
        {
            // A tied parameter is counted at its owner only, as in ModelGraph.Parameters.
            long owned = node.Parameters.Where(p => p.LayerPath == node.LayerPath).Sum(p => p.Count);
            rows.Add(new[] { node.LayerPath, node.Kind.ToSource(), ShapeText(node.Output.Shape), owned.ToString("N0", CultureInfo.InvariantCulture) });
        }

        stdout.WriteLine($"model {model.Name}");
        WriteTable(rows, stdout);

        long total = model.Parameters.Sum(p => p.Count);
        stdout.WriteLine($"parameters: {total.ToString("N0", CultureInfo.InvariantCulture)} ({model.Parameters.Count} tensors, {(total * 4 / 1024.0).ToString("N1", CultureInfo.InvariantCulture)} KiB as f32)");
        if (model.SymbolicDimensions.Count > 0)
            stdout.WriteLine("symbolic dimensions: " + string.Join(", ", model.SymbolicDimensions.Select(s => bindings.TryGetValue(s, out long v) ? $"{s}={v}" : s)));
        if (model.Loss is { } loss) stdout.WriteLine($"loss: {loss.Kind.ToSource()}({loss.Prediction.Name}, {loss.Target.Name})");
        if (model.Optimizer is { } optimizer)
            stdout.WriteLine($"optimizer: {optimizer.Kind.ToSource()}(" + string.Join(", ", optimizer.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("R", CultureInfo.InvariantCulture)}")) + ")");
        stdout.WriteLine();
    }

    /// <summary>Shows a shape with the bound symbols replaced by their values (<c>[B, T*d]</c> with T=64 gives <c>[B, 64*d]</c>).</summary>
    private static string Bind(Shape shape, IReadOnlyDictionary<string, long> bindings)
    {
        if (bindings.Count == 0) return shape.ToExpression();
        var dims = shape.Dims.Select(d =>
        {
            Dim bound = Dim.Known(d.Coefficient);
            foreach (var symbol in d.Symbols)
                bound = bound.Multiply(bindings.TryGetValue(symbol, out long v) ? Dim.Known(v) : Dim.Symbol(symbol));
            return bound.ToExpression();
        });
        return "[" + string.Join(", ", dims) + "]";
    }

    private static bool TryParseBindings(string text, Dictionary<string, long> bindings)
    {
        foreach (var part in text.Split(','))
        {
            var pieces = part.Split('=');
            if (pieces.Length != 2 || pieces[0].Trim().Length == 0 ||
                !long.TryParse(pieces[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value <= 0 || value > int.MaxValue)
                return false;
            bindings[pieces[0].Trim()] = value;
        }
        return true;
    }

    private static void WriteTable(List<string[]> rows, TextWriter stdout)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var cells = rows[r].Select((cell, c) => c == columns - 1 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            stdout.WriteLine("  " + string.Join("  ", cells).TrimEnd());
            if (r == 0) stdout.WriteLine("  " + new string('-', widths.Sum() + 2 * (columns - 1)));
        }
    }
}
