using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Autodiff;
using ModelDsl.Diagnostics;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Analysis
{
    /// <summary>
    /// What the back end can build, checked where the checker can still point at the .model line, so that `check` and
    /// the build agree: a model that passes here generates C# that compiles. Two limits:
    /// <list type="bullet">
    /// <item>MDL0310: sizes. Generated code indexes every tensor, parameter and workspace with 32-bit integers and keeps
    /// each in one .NET array (and all parameters in one GPU arena), so each holds at most
    /// <see cref="MaxElements"/> elements; for a tensor with symbolic dimensions, its fixed part (the product of
    /// the constant dimensions) does, and the rest is checked when the sizes bind at run time.</item>
    /// <item>MDL0117: build cost. Blocks and repeats unroll into straight-line code, a few kernels per op for the
    /// forward and backward pass, about 8.5 KB of generated C# and CUDA C per op; past <see cref="MaxOps"/> ops the
    /// generated code would pass 8.5 MB and the compiler minutes and gigabytes (1.2 KB of CharGpt with
    /// <c>repeat 1024</c> once gave 80 MB).</item>
    /// </list>
    /// </summary>
    public static class BuildLimits
    {
        /// <summary>The largest .NET array (<c>Array.MaxLength</c> for 4-byte elements).</summary>
        public const long MaxElements = 2_147_483_591;

        /// <summary>
        /// Ops one model may unroll to for code generation: 99 transformer blocks of CharGpt's kind (10 ops each), about
        /// 8.5 MB of generated code. GPT-2 small (12 blocks) has 125 ops, GPT-2 XL (48 blocks) about 485.
        /// </summary>
        public const int MaxOps = 1_000;

        /// <summary>
        /// Checks a bound model; false (with diagnostics) when the back end could not build it. <paramref name="plan"/>
        /// is the training plan the checks ran on (null when the back end has no kernels for the model, or it failed).
        /// </summary>
        public static bool Check(ModelGraph model, DiagnosticBag diagnostics, out TrainingPlan? plan)
        {
            plan = null;
            bool ok = true;
            foreach (var input in model.Inputs.Concat(model.Labels))
                ok &= CheckSize(input.Shape, input.Span, $"{(model.Labels.Contains(input) ? "label" : "input")} '{input.Name}' {input.DType.ToSource()}{input.Shape}", diagnostics);
            foreach (var node in model.Nodes)
                ok &= CheckSize(node.Output.Shape, node.Span, $"{node.Kind.ToSource()} '{node.LayerPath}' output {node.Output.DType.ToSource()}{node.Output.Shape}", diagnostics);
            foreach (var parameter in model.Parameters)
                ok &= CheckSize(parameter.Shape, parameter.Span, $"parameter '{parameter.Name}' {parameter.Shape}", diagnostics);
            if (!ok) return false;

            // All parameters together, as the GPU arena lays them out (each padded to the arena's alignment). Each is
            // at most MaxElements and a model has at most 100,000 ops, so the sum fits in a long.
            const long Alignment = Emit.Cuda.ParameterArena.Alignment;
            long arena = model.Parameters.Sum(p => (p.Count + Alignment - 1) / Alignment * Alignment);
            if (arena > MaxElements)
            {
                var largest = model.Parameters.OrderByDescending(p => p.Count).First();
                diagnostics.ReportTooManyElements(model.NameSpan, $"the parameter arena of model '{model.Name}' (all its parameters, as the GPU lays them out; the largest is '{largest.Name}' {largest.Shape})", Count(arena), "");
                return false;
            }

            // Before the plan: building one for an oversized model is itself the cost this limit avoids.
            if (model.Nodes.Count > MaxOps)
            {
                var repeat = model.Repeats.Where(r => r.Ops > 0).OrderByDescending(r => r.Ops).FirstOrDefault();
                diagnostics.ReportBuildTooLarge(repeat?.Span ?? model.NameSpan, model.Name, model.Nodes.Count, MaxOps, repeat?.Count ?? 0);
                return false;
            }

            // What the generated code has no kernels for, at the op or input: without a plan there is no training class,
            // and the consumer's calls to it (TrainStep, Forward) would fail to compile in their own code.
            if (!CheckTrainable(model, diagnostics)) return false;

            try
            {
                plan = PlanBuilder.TryBuild(model, out _);
            }
            catch (OverflowException)
            {
                // A derived size (a padded image, a gate width) passed 64 bits; the sizes above were each in range.
                diagnostics.ReportTooManyElements(model.NameSpan, $"a buffer derived inside model '{model.Name}'", "more than 2^63", "");
                return false;
            }
            if (plan is null) throw new InvalidOperationException($"model '{model.Name}' passed the trainability checks but has no plan");

            // A kernel without a CUDA rendering: the model trains on the CPU, with no GPU half.
            if (Emit.Cuda.CudaEmitter.FirstWithoutRendering(plan) is { } cpuOnly)
            {
                if (cpuOnly is AttentionKernel or AttentionBackwardKernel)
                {
                    var node = model.Nodes.First(n => n.Kind == OpKind.Attention && n.Span.Equals(cpuOnly.Origins[0].Span));
                    long width = node.Output.Shape.Last.Value / ((Ops.AttentionAttributes)node.Attributes).Heads;
                    diagnostics.ReportAttentionTooWideForGpu(node.Span, node.LayerPath, width, Emit.Cuda.CudaLayerLibrary.AttentionMaxHeadDim);
                }
                else throw new InvalidOperationException($"{cpuOnly.Name} has no CUDA rendering and no diagnostic says why");
            }

            // precision bf16: the plan's matrix products (dense, attention's projections, tied heads) take BF16 operands; the
            // layers whose products their GPU launcher makes itself (conv2d, lstm, gru) keep them in FP32 (MDL0327).
            if (model.Precision.Mode == Precision.Bf16)
            {
                foreach (var node in model.Nodes.Where(n => n.Kind is OpKind.Conv2d or OpKind.Lstm or OpKind.Gru))
                    diagnostics.ReportNoBf16Path(node.Span, node.Kind.ToSource(), node.LayerPath,
                        "its matrix products are made by its GPU layer launcher in FP32");
            }

            // Buffers the plan adds (im2col and attention workspaces, saved states), located at the op they serve.
            foreach (var buffer in plan.Buffers.Where(b => b.AliasOf is null && b.Value is null && b.Parameter is null))
            {
                // Plan buffers are named after the op's output (h.0 -> h_0_workspace); the longest such prefix is the owner.
                var owner = model.Nodes
                    .Where(n => buffer.Name.StartsWith(PlanBuilder.Identifier(n.Output.Name + "."), StringComparison.Ordinal))
                    .OrderByDescending(n => n.Output.Name.Length)
                    .FirstOrDefault();
                ok &= CheckSize(buffer.Shape, owner?.Span ?? model.NameSpan, $"the {buffer.Kind.ToString().ToLowerInvariant()} buffer {buffer.Shape} of {(owner is null ? "model '" + model.Name + "'" : owner.Kind.ToSource() + " '" + owner.LayerPath + "'")}", diagnostics);
            }
            return ok;
        }

        /// <summary>MDL0311 for every op and input the generated code has no kernels for; true when there is none.</summary>
        private static bool CheckTrainable(ModelGraph model, DiagnosticBag diagnostics)
        {
            bool ok = true;
            foreach (var input in model.Inputs.Concat(model.Labels))
            {
                if (input.Shape.Dims.FirstOrDefault(d => !PlanBuilder.IsBindable(d)) is not { } product) continue;
                string kind = model.Labels.Contains(input) ? "label" : "input";
                diagnostics.ReportInputNotBindable(input.Span, $"{kind} '{input.Name}'", input.DType, input.Shape, product);
                ok = false;
            }
            foreach (var node in model.Nodes)
            {
                if (Ops.OpCatalog.Of(node).NotPlannable(node) is not { } reason) continue;
                diagnostics.ReportNotPlannable(node.Span, node.Kind.ToSource(), node.LayerPath, reason);
                ok = false;
            }
            return ok;
        }

        /// <summary>The fixed part of <paramref name="shape"/>'s element count against <see cref="MaxElements"/>.</summary>
        private static bool CheckSize(Shape shape, TextSpan span, string what, DiagnosticBag diagnostics)
        {
            System.Numerics.BigInteger count = 1;
            foreach (var dim in shape.Dims) count *= dim.Coefficient;
            if (count <= MaxElements) return true;
            var symbols = shape.Dims.SelectMany(d => d.Symbols).Distinct().ToList();
            string per = symbols.Count == 0 ? "" : $" for each {string.Join("·", symbols)}";
            diagnostics.ReportTooManyElements(span, what, count.ToString("N0", CultureInfo.InvariantCulture), per);
            return false;
        }

        private static string Count(long count) => count.ToString("N0", CultureInfo.InvariantCulture);
    }
}
