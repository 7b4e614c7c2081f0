using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelDsl.Analysis;
using ModelDsl.Emit.Cuda;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Cli.Commands;

/// <summary><c>modeldsl summary &lt;file&gt;</c>: each layer with its output shape and parameter count, then totals (like Keras' model.summary()).</summary>
internal static class SummaryCommand
{
    private const string Usage = "usage: modeldsl summary <file> [--bind B=32,T=64] [--device cpu|cuda]";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? path = null;
        bool cuda = false;
        var bindings = new Dictionary<string, long>(System.StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--bind" && i + 1 < args.Count)
            {
                if (!DimensionBindings.TryParse(args[++i], bindings, out string error))
                {
                    stderr.WriteLine($"modeldsl: error: {error}");
                    return ExitCodes.Usage;
                }
            }
            else if (args[i] == "--device" && i + 1 < args.Count)
            {
                string device = args[++i];
                if (device != "cpu" && device != "cuda")
                {
                    stderr.WriteLine($"modeldsl: error: --device {device}: expected cpu or cuda (cuda adds the GPU session's memory plan)");
                    return ExitCodes.Usage;
                }
                cuda = device == "cuda";
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

        if (!DimensionBindings.TryValidate(bindings, result.Models, path, out string invalid))
        {
            stderr.WriteLine($"modeldsl: error: {invalid}");
            return ExitCodes.Usage;
        }

        foreach (var compiled in result.Compiled)
        {
            var model = compiled.Graph;
            try
            {
                // Rendered whole before printing, so an overflow leaves no half table behind.
                var text = new StringWriter();
                Write(compiled, bindings, text);
                if (cuda) WriteMemoryPlan(compiled, bindings, text);
                stdout.Write(text.ToString());
            }
            catch (System.OverflowException)
            {
                // The counts are checked (CostModel): at these sizes one passes 2^63, so no figure would be true.
                string at = string.Join(",", model.SymbolicDimensions.Where(bindings.ContainsKey).Select(s => $"{s}={bindings[s]}"));
                stderr.WriteLine($"modeldsl: error: --bind {at}: model {model.Name}'s tensor sizes, FLOPs or memory at these sizes do not fit in 64 bits; bind smaller sizes");
                return ExitCodes.Usage;
            }
        }
        return ExitCodes.Success;
    }

    private static void Write(CompiledModel compiled, IReadOnlyDictionary<string, long> bindings, TextWriter stdout)
    {
        var model = compiled.Graph;
        string ShapeText(Shape shape) => Bind(shape, bindings);

        // FLOPs and memory need sizes for every symbolic dimension.
        bool bound = model.SymbolicDimensions.All(bindings.ContainsKey);
        var cost = bound ? CostModel.Estimate(compiled, bindings) : null;

        var header = new List<string> { "layer", "op", "output shape", "params" };
        if (cost is not null) header.Add("forward FLOPs");
        var rows = new List<string[]> { header.ToArray() };
        foreach (var input in model.Inputs)
            rows.Add(Row(input.Name, "input", input.DType.ToSource() + ShapeText(input.Shape), "0", cost is null ? null : "0"));
        for (int i = 0; i < model.Nodes.Count; i++)
        {
            var node = model.Nodes[i];
            // A tied parameter is counted at its owner only, as in ModelGraph.Parameters.
            long owned = node.Parameters.Where(p => p.LayerPath == node.LayerPath).Sum(p => p.Count);
            rows.Add(Row(node.LayerPath, node.Kind.ToSource(), ShapeText(node.Output.Shape), owned.ToString("N0", CultureInfo.InvariantCulture),
                cost is null ? null : Flops(cost.Layers[i].ForwardFlops)));
        }

        stdout.WriteLine($"model {model.Name}");
        WriteTable(rows, stdout);

        long total = model.Parameters.Sum(p => p.Count);
        stdout.WriteLine($"parameters: {total.ToString("N0", CultureInfo.InvariantCulture)} ({model.Parameters.Count} tensors, {(total * 4 / 1024.0).ToString("N1", CultureInfo.InvariantCulture)} KiB as f32)");
        if (model.SymbolicDimensions.Count > 0)
            stdout.WriteLine("symbolic dimensions: " + string.Join(", ", model.SymbolicDimensions.Select(s => bindings.TryGetValue(s, out long v) ? $"{s}={v}" : s)));
        if (cost is not null)
        {
            string at = string.Join(", ", model.SymbolicDimensions.Select(s => $"{s}={bindings[s]}"));
            at = at.Length == 0 ? "" : $" at {at}";
            string optimizerName = model.Optimizer is { } o ? " + " + o.Kind.ToSource() : "";
            stdout.WriteLine($"FLOPs{at}: forward {Flops(cost.ForwardFlops)}, training step {Flops(cost.TrainingStepFlops)} (forward + backward{optimizerName})");
            string how = cost.ActivationBytesArePlanned ? "the generated code's planned buffers" : "estimate: every op output and its gradient";
            stdout.WriteLine($"activation memory{at}: {Bytes(cost.ActivationBytes)} ({how})");
        }
        else if (model.SymbolicDimensions.Count > 0)
        {
            stdout.WriteLine($"FLOPs and activation memory: bind the symbolic dimensions, e.g. --bind {string.Join(",", model.SymbolicDimensions.Select(s => s + "=32"))}");
        }
        if (model.Loss is { } loss) stdout.WriteLine($"loss: {loss.ToSource()}");
        if (model.Optimizer is { } optimizer)
            stdout.WriteLine($"optimizer: {optimizer.Kind.ToSource()}(" + string.Join(", ", optimizer.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("R", CultureInfo.InvariantCulture)}")) + ")");
        stdout.WriteLine();
    }

    /// <summary>
    /// The device memory of the generated GPU session at the bound sizes, per buffer group, from the same
    /// <see cref="GpuMemoryPlan"/> the generated code allocates by: what its constructor allocates once, what each binding
    /// of the symbolic dimensions adds, and the peak of a training step (nothing is reused within a step, so the sum).
    /// </summary>
    private static void WriteMemoryPlan(CompiledModel compiled, IReadOnlyDictionary<string, long> bindings, TextWriter stdout)
    {
        var model = compiled.Graph;
        if (compiled.Cuda is not { } cuda)
        {
            stdout.WriteLine($"GPU memory plan: none, model {model.Name} has no GPU code (the warnings above say why)");
            stdout.WriteLine();
            return;
        }
        var missing = model.SymbolicDimensions.Where(s => !bindings.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            stdout.WriteLine($"GPU memory plan: bind the symbolic dimensions, e.g. --bind {string.Join(",", missing.Select(s => s + "=32"))}");
            stdout.WriteLine();
            return;
        }
        var plan = GpuMemoryPlan.For(compiled.Plan!, cuda);
        string at = string.Join(", ", model.SymbolicDimensions.Select(s => $"{s}={bindings[s]}"));
        stdout.WriteLine($"GPU memory plan{(at.Length == 0 ? "" : " at " + at)} (the generated Gpu session's device allocations, "
            + (cuda.Bf16Activations ? "in its declared bf16: activations 2 bytes per element (BF16), everything else 4):" : "4 bytes per element):"));
        var rows = new List<string[]> { new[] { "group", "allocated", "buffers", "bytes", "" } };
        long session = 0, perBinding = 0;
        foreach (var group in System.Enum.GetValues<GpuMemoryGroup>())
        {
            foreach (var (list, when) in new[] { (plan.Session, "once"), (plan.PerBinding, "per binding") })
            {
                var members = list.Where(a => a.Group == group).ToList();
                if (members.Count == 0) continue;
                long bytes = members.Sum(a => a.Bytes(bindings));
                if (when == "once") session += bytes;
                else perBinding += bytes;
                rows.Add(new[] { GroupName(group, model), when, members.Count.ToString(CultureInfo.InvariantCulture), bytes.ToString("N0", CultureInfo.InvariantCulture), Bytes(bytes) });
            }
        }
        WriteTable(rows, stdout);
        stdout.WriteLine($"session (once): {session.ToString("N0", CultureInfo.InvariantCulture)} bytes; per binding: {perBinding.ToString("N0", CultureInfo.InvariantCulture)} bytes");
        stdout.WriteLine($"peak of a training step: {(session + perBinding).ToString("N0", CultureInfo.InvariantCulture)} bytes ({Bytes(session + perBinding)}; nothing is reused within a step; the session keeps up to 4 bindings' workspaces)");
        WriteRecompute(compiled.Plan!, stdout);
        stdout.WriteLine();
    }

    /// <summary>
    /// <c>recompute Block</c> (docs/language.md "Activation recomputation"): per block, how many uses the backward pass
    /// recomputes and how many sets of scratch they share, which is what the groups above no longer hold.
    /// </summary>
    private static void WriteRecompute(ModelDsl.Plan.TrainingPlan plan, TextWriter stdout)
    {
        foreach (var block in plan.Recompute.GroupBy(s => s.Instance.Block))
        {
            int uses = block.Count(), sets = block.Select(s => s.SharesWith).Distinct().Count();
            int buffers = (block.FirstOrDefault(s => s.SharesWith == s.Instance) ?? block.First()).Scratch.Count;
            stdout.WriteLine($"recompute {block.Key}: {uses} uses recomputed in the backward pass; their scratch ({buffers} buffers a use) is {sets} set{(sets == 1 ? "" : "s")} shared instead of {uses}");
        }
    }

    private static string GroupName(GpuMemoryGroup group, ModelGraph model) => group switch
    {
        GpuMemoryGroup.Parameters => "parameters",
        GpuMemoryGroup.Gradients => "parameter gradients",
        GpuMemoryGroup.OptimizerState => "optimizer state" + (model.Optimizer is { } o ? $" ({o.Kind.ToSource()})" : ""),
        GpuMemoryGroup.LayerState => "layer state (untrained)",
        GpuMemoryGroup.Inputs => "inputs and labels",
        GpuMemoryGroup.ActivationsKept => "activations kept for backward",
        GpuMemoryGroup.ActivationsForwardOnly => "activations (forward only)",
        GpuMemoryGroup.Saved => "saved by layers for backward",
        GpuMemoryGroup.ActivationGradients => "activation gradients",
        GpuMemoryGroup.Workspace => "layer working memory",
        GpuMemoryGroup.Reductions => "loss and Σ g² reductions",
        GpuMemoryGroup.StepValues => "dropout seeds (per step)",
        _ => group.ToString(),
    };

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

    private static string[] Row(string layer, string op, string shape, string parameters, string? flops) =>
        flops is null ? new[] { layer, op, shape, parameters } : new[] { layer, op, shape, parameters, flops };

    /// <summary>1.23 GFLOP, 456.0 MFLOP, 789 FLOP.</summary>
    private static string Flops(long flops) => flops switch
    {
        >= 1_000_000_000 => (flops / 1e9).ToString("F2", CultureInfo.InvariantCulture) + " GFLOP",
        >= 1_000_000 => (flops / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MFLOP",
        >= 1_000 => (flops / 1e3).ToString("F1", CultureInfo.InvariantCulture) + " kFLOP",
        _ => flops.ToString(CultureInfo.InvariantCulture) + " FLOP",
    };

    private static string Bytes(long bytes) => bytes >= 1 << 20
        ? (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB"
        : (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB";

    private static void WriteTable(List<string[]> rows, TextWriter stdout)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var cells = rows[r].Select((cell, c) => c >= 3 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            stdout.WriteLine("  " + string.Join("  ", cells).TrimEnd());
            if (r == 0) stdout.WriteLine("  " + new string('-', widths.Sum() + 2 * (columns - 1)));
        }
    }
}
