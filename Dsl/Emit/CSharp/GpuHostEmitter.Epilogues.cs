using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The GEMMs of the GPU half that run through cuBLASLt with an epilogue (docs/cuda.md "GEMM epilogues"):
    /// <c>GpuContext.SgemmEpilogue</c> in an FP32 or TF32 session, and in a Bf16 session of a <c>precision bf16</c> model
    /// <c>GpuContext.GemmBf16Epilogue</c> on the operands' BF16 copies, as the model's plain products take them.
    /// </summary>
    public sealed partial class GpuHostEmitter
    {
        /// <summary>
        /// A GEMM through cuBLASLt with the epilogue that does the next (or, for a bias gradient, the previous) elementwise
        /// kernel's work, with a comment giving what it writes in the plan's buffer names.
        /// </summary>
        private void EmitEpilogueGemm(GemmKernel g, CublasLtEpilogue epilogue)
        {
            string m = Size(g.M), n = Size(g.N), k = Size(g.K);
            string lda = g.TransA ? m : k, ldb = g.TransB ? k : n;
            string a = g.TransA ? $"{g.A.Name}ᵀ" : g.A.Name, b = g.TransB ? $"{g.B.Name}ᵀ" : g.B.Name;
            string product = $"{a} · {b}";
            string assign = g.Accumulate ? "+=" : "=";
            string formula = epilogue.Kind switch
            {
                EpilogueKind.Bias => $"{g.C.Name}[{m}, {n}] = {product} + {epilogue.Bias.Name}",
                EpilogueKind.GeluAuxBias => $"{epilogue.Aux!.Name}[{m}, {n}] = {product} + {epilogue.Bias.Name};  {epilogue.Output.Name} = gelu_tanh({epilogue.Aux.Name})",
                EpilogueKind.GeluGradientBiasGradient => $"{epilogue.Output.Name}[{m}, {n}] = ({product}) · gelu_tanh_grad({epilogue.Aux!.Name});  {epilogue.Bias.Name} = Σ_rows {epilogue.Output.Name}",
                _ => $"{g.C.Name}[{m}, {n}] {assign} {product};  {epilogue.Bias.Name} = Σ_rows {g.A.Name}",
            };
            _w.Line($"// {formula}   (k = {k}): cuBLASLt, epilogue {CudaEmitter.CublasLtName(epilogue.Kind)}, doing {epilogue.Replaces.Name}'s work in the same pass");
            if (epilogue.Unwritten is { } unwritten) _w.Line($"// ({unwritten.Name}, the product itself, stays in registers: it is never stored)");
            string beta = g.Accumulate ? "1f" : "0f";
            string aux = epilogue.Aux is { } x ? $", {DeviceRef(x)}" : "";
            string tail = $"{beta}, {DeviceRef(epilogue.Output)}, {n}, {DeviceRef(epilogue.Bias)}{aux});";
            string fp32 = $"_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.{epilogue.Kind}, {Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, {DeviceRef(g.A)}, {lda}, {DeviceRef(g.B)}, {ldb}, {tail}";
            if (!DeclaresBf16)
            {
                _w.Line(fp32);
                return;
            }
            _w.Open("if (_bf16)");
            string a16 = Bf16Operand(g.A, "Bf16A", $"{m} * {k}");
            string b16 = Bf16Operand(g.B, "Bf16B", $"{k} * {n}");
            if (ActivationStorage.IsActivation(epilogue.Output))
            {
                // A forward epilogue into a BF16 activation: D (and the GELU input aux) in BF16, so the bias is read in
                // BF16 too (cuBLASLt's bias type is D's): the parameter's BF16 copy.
                string bias16 = Bf16Operand(epilogue.Bias, "", "");
                string aux16 = epilogue.Aux is { } forwardAux ? $", {DeviceRef(forwardAux)}" : "";
                _w.Line($"_context.GemmBf16Epilogue(global::ModelDsl.Cuda.GemmEpilogue.{epilogue.Kind}, {Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, {a16}, {lda}, {b16}, {ldb}, {beta}, {DeviceRef(epilogue.Output)}, {n}, {bias16}{aux16}, bf16C: true); // BF16 operands, FP32 accumulation; {epilogue.Output.Name}{(epilogue.Aux is null ? "" : " and " + epilogue.Aux.Name)} stored in BF16");
            }
            else if (epilogue.Aux is { } bf16Aux && ActivationStorage.IsActivation(bf16Aux))
            {
                // dGELU into an FP32 gradient: cuBLASLt reads aux in D's type, so the BF16 GELU input is widened first.
                _w.Line($"{GpuLayers}Bf16.Widen({LayerContextField}, {m} * {n}, {DeviceRef(bf16Aux)}, w.AuxF32.Pointer); // {bf16Aux.Name} in FP32 for the epilogue");
                _w.Line($"_context.GemmBf16Epilogue(global::ModelDsl.Cuda.GemmEpilogue.{epilogue.Kind}, {Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, {a16}, {lda}, {b16}, {ldb}, {beta}, {DeviceRef(epilogue.Output)}, {n}, {DeviceRef(epilogue.Bias)}, w.AuxF32.Pointer); // BF16 operands, FP32 accumulation; the gradients and aux in FP32");
            }
            else
            {
                // C is no BF16 activation (a gradient: BiasGradientOfA's weight gradient, a dGELU whose GELU input is not an
                // activation), so C, the bias (read, or a gradient written) and aux are FP32.
                _w.Line($"_context.GemmBf16Epilogue(global::ModelDsl.Cuda.GemmEpilogue.{epilogue.Kind}, {Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, {a16}, {lda}, {b16}, {ldb}, {tail} // BF16 operands, FP32 accumulation; C, bias{(epilogue.Aux is null ? "" : " and aux")} in FP32");
            }
            _w.Close();
            _w.Line("else " + fp32);
        }

        /// <summary>
        /// A matrix product's operand in BF16 for a Bf16 session: a parameter's copy in <c>_valuesBf16</c>, an activation
        /// stored in BF16 as it is, anything else (a gradient) rounded into the workspace's staging buffer
        /// <paramref name="staging"/> first (a line before the product).
        /// </summary>
        private string Bf16Operand(PlanBuffer operand, string staging, string elements)
        {
            var root = operand.Root;
            if (root.Kind == BufferKind.Parameter) return $"_valuesBf16.Pointer.PlusBf16(Offsets[{ParameterIndex(root)}])";
            if (ActivationStorage.IsActivation(operand)) return DeviceRef(operand); // already BF16
            _w.Line($"{GpuLayers}Bf16.Round({LayerContextField}, {elements}, {DeviceRef(operand)}, w.{staging}.Pointer); // {operand.Name} in BF16");
            return $"w.{staging}.Pointer";
        }
    }
}
