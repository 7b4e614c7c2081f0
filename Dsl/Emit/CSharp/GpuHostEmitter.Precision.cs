using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.IR;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// Precision in the GPU half (docs/cuda.md "Precision"): the session's <c>GpuPrecision</c> (the .model's
    /// <c>precision</c>, or <c>ToGpu</c>'s argument), TF32 as the context's math mode for the step's products, and for a
    /// model that declares <c>precision bf16</c> the BF16 copy of the parameters (<c>_valuesBf16</c>, refreshed by the
    /// optimizer kernel), the staging buffers for the other BF16 operands and the BF16 matrix products.
    /// </summary>
    public sealed partial class GpuHostEmitter
    {
        private const string PrecisionType = "global::ModelDsl.Cuda.GpuPrecision";

        /// <summary>
        /// The model declares <c>precision bf16</c>: its module holds the BF16 kernels, so its session can run in BF16, and a
        /// Bf16 session stores its activations in BF16 (<see cref="CudaModule.Bf16Activations"/>): the module compiles with
        /// md_act = md_bf16, activation buffers hold 2 bytes an element, f32 inputs are rounded on upload and outputs widened
        /// on download, and the products read and write them without staging.
        /// </summary>
        private bool DeclaresBf16 => Model.Precision.Mode == Precision.Bf16;


        private string DeclaredPrecision => $"{PrecisionType}.{Model.Precision.Mode}";

        /// <summary>The <c>ToGpu</c> overloads of the model class.</summary>
        private void EmitToGpu()
        {
            string declared = Model.Precision.Span.Length > 0 ? $"<c>precision {Model.Precision.Describe()}</c> ({_fileName}:{Line(Model.Precision.Span)})" : "FP32 (the .model declares no precision)";
            _w.Line("/// <summary>");
            _w.Line("/// Copies this model's parameters and optimizer state to <paramref name=\"context\"/> and returns the session that");
            _w.Line("/// trains and runs it there. The model keeps its CPU copy: call <see cref=\"Gpu.CopyToHost\"/> before <c>Save</c>.");
            _w.Line($"/// The session computes in the declared precision, {declared}.");
            _w.Line("/// </summary>");
            _w.Line("public Gpu ToGpu(global::ModelDsl.Cuda.GpuContext context) => new Gpu(this, context, Gpu.DeclaredPrecision);");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// <see cref=\"ToGpu(global::ModelDsl.Cuda.GpuContext)\"/> in <paramref name=\"precision\"/> instead of the declared one:");
            _w.Line(DeclaresBf16
                ? "/// Fp32, Tf32 or Bf16 (docs/cuda.md \"Precision\")."
                : "/// Fp32 or Tf32; Bf16 needs <c>precision bf16</c> in the .model file, which generates the BF16 kernels (docs/cuda.md \"Precision\").");
            _w.Line("/// </summary>");
            _w.Line($"public Gpu ToGpu(global::ModelDsl.Cuda.GpuContext context, {PrecisionType} precision) => new Gpu(this, context, precision);");
            _w.Line();
        }

        /// <summary>The session's precision fields.</summary>
        private void EmitPrecisionFields()
        {
            _w.Line($"/// <summary>The precision the .model declares: {Model.Precision.Describe()}{(Model.Precision.Span.Length > 0 ? $" ({_fileName}:{Line(Model.Precision.Span)})" : " (none declared)")}.</summary>");
            _w.Line($"public const {PrecisionType} DeclaredPrecision = {DeclaredPrecision};");
            _w.Line();
            _w.Line("/// <summary>How this session computes (docs/cuda.md \"Precision\"); the CPU code is FP32 whatever it is.</summary>");
            _w.Line($"public {PrecisionType} Precision {{ get; }}");
            _w.Line("private readonly bool _tf32; // the step's FP32 products on tensor cores in TF32 (GpuContext.Tf32)");
            if (DeclaresBf16)
            {
                _w.Line("private readonly bool _bf16; // activations stored in BF16 (md_act = md_bf16), the matrix products on BF16 operands (GpuContext.GemmBf16)");
                _w.Line("private readonly global::ModelDsl.Cuda.DeviceVariable _valuesBf16; // the parameters in BF16 at the same offsets (2 bytes each), written by the optimizer");
            }
        }

        /// <summary>The constructor's precision lines, before anything is loaded or allocated (a refused precision leaks nothing).</summary>
        private void EmitPrecisionConstructor()
        {
            if (!DeclaresBf16)
            {
                _w.Line($"if (precision == {PrecisionType}.Bf16)");
                _w.Line($"    throw new global::System.ArgumentException(ModelName + \": Bf16 needs 'precision bf16' in {_fileName}, which generates the BF16 kernels and the optimizer's BF16 copy of the parameters; Fp32 and Tf32 need nothing\", nameof(precision));");
            }
            _w.Line($"if (precision is not ({PrecisionType}.Fp32 or {PrecisionType}.Tf32 or {PrecisionType}.Bf16)) throw new global::System.ArgumentOutOfRangeException(nameof(precision), precision, \"not a GpuPrecision\");");
            _w.Line("Precision = precision;");
            _w.Line($"_tf32 = precision == {PrecisionType}.Tf32;");
            if (DeclaresBf16) _w.Line($"_bf16 = precision == {PrecisionType}.Bf16;");
        }

        /// <summary>After the parameters were copied in (or broadcast): their BF16 copy, rounded on the device.</summary>
        private void EmitRefreshBf16()
        {
            if (DeclaresBf16) _w.Line($"{GpuLayers}Bf16.Round({LayerContextField}, ArenaLength, _values.Pointer, _valuesBf16.Pointer); // the BF16 copy of every parameter");
        }

        /// <summary>The first line of RunForward and RunBackward: the context's math mode for this session's products.</summary>
        private void EmitMathMode() =>
            _w.Line("_context.Tf32 = _tf32; // TF32 products only in a Tf32 session (a context may serve sessions of several precisions)");

        /// <summary>The staging buffers of a bf16 model's Workspace (fields, allocation, disposal: <paramref name="part"/>).</summary>
        private void EmitBf16Staging(string part)
        {
            foreach (var (name, operandB) in new[] { ("Bf16A", false), ("Bf16B", true) })
            {
                if (GpuMemoryPlan.Bf16Staging(_plan, Cuda, operandB) is not { } floats) continue;
                string operand = operandB ? "B" : "A";
                switch (part)
                {
                    case "field":
                        _w.Line($"public readonly global::ModelDsl.Cuda.DeviceVariable {name}; // BF16 copy of a matrix product's {operand} operand (not a parameter), the largest one: precision bf16");
                        break;
                    case "allocate":
                        _w.Line($"{name} = context.Allocate(4L * {Elements(name, floats, $"(the largest BF16 {operand} operand, 2 bytes each)")});");
                        break;
                    default:
                        _w.Line($"{name}.Dispose();");
                        break;
                }
            }
            if (GpuMemoryPlan.AuxWidening(Cuda) is not { } aux) return;
            switch (part)
            {
                case "field":
                    _w.Line("public readonly global::ModelDsl.Cuda.DeviceVariable AuxF32; // a dGELU epilogue's BF16 GELU input widened to FP32 (cuBLASLt reads aux in D's type), the largest one");
                    break;
                case "allocate":
                    _w.Line($"AuxF32 = context.Allocate(4L * {Elements("AuxF32", aux, "(the largest dGELU epilogue input)")});");
                    break;
                default:
                    _w.Line("AuxF32.Dispose();");
                    break;
            }
        }

        /// <summary>
        /// A matrix product of a bf16 model: in a Bf16 session the operands' BF16 copies (a parameter's from
        /// <c>_valuesBf16</c>, an activation stored in BF16 as it is, anything else, a gradient, rounded into the staging
        /// buffer first) go to <c>GemmBf16</c>, which writes a BF16 activation (C = CUDA_R_16BF) or an FP32 gradient;
        /// otherwise <paramref name="sgemm"/>, the FP32 product.
        /// </summary>
        private void EmitBf16Gemm(GemmKernel g, string m, string n, string k, string lda, string ldb, string sgemm)
        {
            _w.Open("if (_bf16)");
            string a = Bf16Operand(g.A, "Bf16A", $"{m} * {k}");
            string b = Bf16Operand(g.B, "Bf16B", $"{k} * {n}");
            bool bf16C = ActivationStorage.IsActivation(g.C);
            _w.Line(bf16C
                ? $"_context.GemmBf16({Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, 1f, {a}, {lda}, {b}, {ldb}, {(g.Accumulate ? "1f" : "0f")}, {DeviceRef(g.C)}, {n}, bf16C: true); // BF16 operands, FP32 accumulation, {g.C.Name} stored in BF16"
                : $"_context.GemmBf16({Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, 1f, {a}, {lda}, {b}, {ldb}, {(g.Accumulate ? "1f" : "0f")}, {DeviceRef(g.C)}, {n}); // BF16 operands, FP32 accumulation and result");
            _w.Close();
            _w.Line("else " + sgemm);
        }
    }
}
