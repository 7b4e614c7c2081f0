using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>The generated CUDA C of one model and how the C# side launches each kernel.</summary>
    public sealed class CudaModule
    {
        internal CudaModule(string source, IReadOnlyDictionary<Kernel, CudaLaunch> launches, CudaLaunch? loss, CudaLaunch lossMean, CudaLaunch? optimizer,
            IReadOnlyDictionary<PlanBuffer, CudaWorkspace> workspaces, IReadOnlyDictionary<Kernel, CublasLtEpilogue> epilogues,
            (CudaLaunch Partials, CudaLaunch Total, int Parts)? gradientSumOfSquares = null, CudaLaunch? gradientScale = null, CudaLaunch? gradientClear = null)
        {
            GradientClear = gradientClear;
            GradientSumOfSquaresPartials = gradientSumOfSquares?.Partials;
            GradientSumOfSquares = gradientSumOfSquares?.Total;
            GradientPartialCount = gradientSumOfSquares?.Parts ?? 0;
            GradientScale = gradientScale;
            Source = source;
            Launches = launches;
            Loss = loss;
            LossMean = lossMean;
            Optimizer = optimizer;
            Workspaces = workspaces;
            Epilogues = epilogues;
            _unwritten = new HashSet<PlanBuffer>(epilogues.Values.Where(e => e.Unwritten is not null).Select(e => e.Unwritten!));
        }

        /// <summary>One CUDA C translation unit: NVRTC compiles it for the GPU, g++ (with the emulation header) for CI.</summary>
        public string Source { get; }

        /// <summary>The launch of each elementwise kernel of the plan (GEMMs go to cuBLAS and have none).</summary>
        public IReadOnlyDictionary<Kernel, CudaLaunch> Launches { get; }

        /// <summary>The fused loss kernel: per-row (or per-element) loss terms and, optionally, the gradient.</summary>
        public CudaLaunch? Loss { get; }

        /// <summary>Averages the loss terms into one float.</summary>
        public CudaLaunch LossMean { get; }

        /// <summary>The optimizer: one launch over every parameter (they live in one contiguous arena).</summary>
        public CudaLaunch? Optimizer { get; }

        /// <summary>Σ g² over the whole gradient arena into one float: the non-finite check before the optimizer, and clipping's norm (models with a loss).</summary>
        public CudaLaunch? GradientSumOfSquares { get; }

        /// <summary>The first pass of <see cref="GradientSumOfSquares"/>: <see cref="GradientPartialCount"/> partial sums.</summary>
        public CudaLaunch? GradientSumOfSquaresPartials { get; }

        /// <summary>How many partial sums the first pass writes (the device buffer between the passes holds that many floats).</summary>
        public int GradientPartialCount { get; }

        /// <summary><c>clip_grad_norm</c>'s scaling of every gradient by the host's factor, or null without clipping.</summary>
        public CudaLaunch? GradientScale { get; }

        /// <summary><c>freeze</c>'s zeroing of a frozen range of the gradient arena, or null without frozen parameters.</summary>
        public CudaLaunch? GradientClear { get; }

        /// <summary>
        /// The size and layout of each layer kernel's working memory on the device, as its launcher in
        /// <c>ModelDsl.Cuda.Layers</c> uses it (the layer kernels themselves are launched there, not described here).
        /// </summary>
        public IReadOnlyDictionary<PlanBuffer, CudaWorkspace> Workspaces { get; }

        /// <summary>
        /// The GEMMs that run through cuBLASLt with an epilogue, keyed by the GEMM and by the elementwise kernel whose work
        /// the epilogue does (that kernel is not in <see cref="Source"/>): <see cref="CublasLtEpilogues"/>.
        /// </summary>
        public IReadOnlyDictionary<Kernel, CublasLtEpilogue> Epilogues { get; }

        private readonly HashSet<PlanBuffer> _unwritten;

        /// <summary>
        /// The layer norms computed by the elementwise kernel before them (fused residual + layer norm: the kernel writes
        /// the sum and normalises it, one warp per row), keyed by the layer norm: the GPU session does not launch them.
        /// </summary>
        public IReadOnlyDictionary<Kernel, ElementwiseKernel> FusedLayerNorms { get; internal set; } = new Dictionary<Kernel, ElementwiseKernel>();

        /// <summary>True for a buffer of the plan the GPU never writes (kept in an epilogue's registers), so never allocates.</summary>
        public bool IsUnwritten(PlanBuffer buffer) => _unwritten.Contains(buffer);

        /// <summary>
        /// True when a Bf16 session compiles <see cref="Source"/> with <see cref="Bf16ActivationsDefine"/> first, so its
        /// activations (<see cref="ActivationStorage.IsActivation"/>) are stored in BF16: the model declares
        /// <c>precision bf16</c> (<see cref="ActivationStorage.StoresBf16"/>).
        /// </summary>
        public bool Bf16Activations { get; internal set; }

        /// <summary>The line a Bf16 session puts before <see cref="Source"/>: md_act becomes md_bf16 (bf16.cuh).</summary>
        public const string Bf16ActivationsDefine = "#define MD_ACT_BF16 1";
    }

    /// <summary>
    /// Renders a <see cref="TrainingPlan"/> as CUDA C: the same fusion groups the C# emitter renders as loops become
    /// kernels here. Each kernel starts with a comment naming the .model lines and ops it covers, with shapes; sizes
    /// arrive as arguments, so one compiled module serves every batch size. GEMMs are not generated: the C# launcher
    /// sends them to cuBLAS. The layer kernels (conv2d, pooling, embedding, positional, layer_norm, softmax, lstm,
    /// attention) are not generated either: the module includes the hand-written <see cref="CudaLayerLibrary"/> file of
    /// each family the plan uses, and the generated C# calls the launchers in <c>ModelDsl.Cuda.Layers</c> for them. See docs/cuda.md
    /// for the fusion decisions.
    /// </summary>
    public sealed partial class CudaEmitter
    {
        /// <summary>Threads per block of the one-thread-per-element kernels (and the reduction).</summary>
        public const int BlockSize = 256;

        private readonly TrainingPlan _plan;
        private readonly SourceText _source;
        private readonly string _fileName;
        private readonly CodeWriter _w = new CodeWriter();
        private readonly Dictionary<Kernel, CudaLaunch> _launches = new Dictionary<Kernel, CudaLaunch>();
        private readonly IReadOnlyDictionary<Kernel, CublasLtEpilogue> _epilogues;
        private readonly Dictionary<Kernel, LayerNormKernel> _residualNorms;

        /// <summary>The identifiers the kernels give buffers (as parameters): the plan's name unless CUDA or this emitter uses it.</summary>
        private readonly NameScope _names = new NameScope(CudaNames.Reserved, CudaNames.Numbered, CudaNames.Prefixes);

        private CudaEmitter(TrainingPlan plan, SourceText source)
        {
            _plan = plan;
            _source = source;
            _fileName = System.IO.Path.GetFileName(source.Path);
            _epilogues = CublasLtEpilogues.Find(plan);
            _residualNorms = ResidualNorms(plan, _epilogues);
            foreach (var b in plan.Buffers) Name(b); // in plan order, so any suffix is deterministic
        }

        /// <summary>The CUDA C identifier of a buffer's kernel parameter.</summary>
        private string Name(PlanBuffer b) => _names.Claim(b, b.Name);

        /// <summary>A kernel parameter for a buffer, named by <see cref="Name"/>.</summary>
        private CudaArgument Pointer(PlanBuffer b, bool writable) => CudaArgument.Pointer(b, Name(b), writable);

        public static CudaModule Emit(TrainingPlan plan, SourceText source) =>
            TryEmit(plan, source) ?? throw new System.NotSupportedException($"{plan.Model.Name} uses a kernel the CUDA emitter does not render yet");

        /// <summary>
        /// The CUDA C of <paramref name="plan"/>, or null when a kernel has no CUDA rendering (attention heads wider than the
        /// layer library's 128, or a kernel kind this emitter does not know): the model then trains on the CPU only.
        /// </summary>
        public static CudaModule? TryEmit(TrainingPlan plan, SourceText source)
        {
            if (!plan.Forward.Concat(plan.Backward).All(Renders)) return null;
            var emitter = new CudaEmitter(plan, source);
            return emitter.EmitModule();
        }

        private CudaModule EmitModule()
        {
            var model = _plan.Model;
            GeneratedFile.Header(_w, _fileName, $"CUDA C, the fused kernels of {model.Name}'s forward pass, loss, backward pass and optimizer");
            _w.Line("//");
            _w.Line(_epilogues.Count == 0
                ? "// Matrix products are not here: the generated C# sends them to cuBLAS."
                : "// Matrix products are not here: the generated C# sends them to cuBLAS, or to cuBLASLt where an epilogue does a kernel's work.");
            _w.Line("// Layout: every tensor is row-major; activations are md_act (bf16.cuh: float, or BF16 when a Bf16 session compiles");
            _w.Line("// this source with MD_ACT_BF16 defined), everything else float (class ids: int); a kernel over [rows, cols] reads");
            _w.Line("// element (r, c) at r*cols + c. Sizes are arguments, so one compiled module serves every batch size. Compiled by");
            _w.Line("// NVRTC on a GPU and by g++ against ModelDsl's emulation header in CI (docs/cuda.md).");
            if (_plan.Forward.Concat(_plan.Backward).Any(k => FamilyOf(k) is not null))
            {
                _w.Line("// The layer kernels (conv2d, lstm, attention, …) are ModelDsl's hand-written library, one block per layer family");
                _w.Line("// the model uses, after the device functions they share.");
            }
            _w.Line();
            EmitPrelude();
            EmitLayerLibrary();
            foreach (var kernel in _plan.Forward.Concat(_plan.Backward))
            {
                if (kernel is not GemmKernel && kernel is not ElementwiseKernel) DescribeLayerWorkspace(kernel);
            }

            if (_plan.Forward.OfType<ElementwiseKernel>().Any())
            {
                Section("Forward pass");
                foreach (var kernel in _plan.Forward.OfType<ElementwiseKernel>()) EmitElementwiseOrEpilogue(kernel);
            }
            CudaLaunch? loss = null;
            if (_plan.Loss is { } lossKernel)
            {
                Section("Loss");
                loss = EmitLoss(lossKernel);
            }
            var lossMean = EmitLossMean();
            if (_plan.Backward.OfType<ElementwiseKernel>().Any())
            {
                Section("Backward pass");
                foreach (var kernel in _plan.Backward.OfType<ElementwiseKernel>()) EmitElementwiseOrEpilogue(kernel);
            }
            CudaLaunch? optimizer = null;
            (CudaLaunch, CudaLaunch, int)? gradientSumOfSquares = null;
            CudaLaunch? gradientScale = null;
            if (model.Optimizer is { } info)
            {
                Section("Optimizer");
                optimizer = EmitOptimizer(info, perGroup: model.Controls.Groups.Count > 0);
            }
            if (_plan.Loss is not null && _plan.Parameters.Count > 0)
            {
                Section("Gradient norm (the non-finite check, and clip_grad_norm)");
                var (partials, total) = EmitGradientSumOfSquares();
                gradientSumOfSquares = (partials, total, GradientPartialCount);
                if (model.Optimizer is not null && model.Controls.Clip is { } clip)
                {
                    _w.Line();
                    gradientScale = EmitGradientScale(clip);
                }
            }
            CudaLaunch? gradientClear = null;
            if (model.Optimizer is not null && _plan.Loss is not null && model.Controls.Frozen.Count > 0)
            {
                _w.Line();
                gradientClear = EmitGradientClear(model.Controls.FrozenSpan);
            }
            return new CudaModule(_w.ToString(), _launches, loss, lossMean, optimizer, _workspaces, _epilogues, gradientSumOfSquares, gradientScale, gradientClear)
            {
                FusedLayerNorms = _residualNorms.Where(p => p.Key is ElementwiseKernel).ToDictionary(p => (Kernel)p.Value, p => (ElementwiseKernel)p.Key),
                Bf16Activations = ActivationStorage.StoresBf16(_plan),
            };
        }

        private void Section(string title)
        {
            _w.Line();
            _w.Line($"// ───── {title} " + new string('─', System.Math.Max(3, 90 - title.Length)));
        }

        /// <summary>
        /// Device functions shared by the kernels. Each formula is the one in ModelDsl.Runtime.Cpu (Activations,
        /// CounterRng, Dropout), written the same way, so the backends agree to rounding.
        /// </summary>
        private void EmitPrelude()
        {
            foreach (var line in Prelude) _w.Line(line);
        }

        /// <summary>The device functions every generated module starts with (activations, dropout hash, warp reductions).</summary>
        public static string PreludeText => string.Join("\n", Prelude) + "\n";

        private static readonly string[] Prelude =
        {
            "#ifndef INFINITY // NVRTC has no <math.h>",
            "#define INFINITY __uint_as_float(0x7f800000u)",
            "#define NAN __uint_as_float(0x7fc00000u)",
            "#endif",
            "",
            "__device__ __forceinline__ float md_relu(float x) { return x > 0.0f ? x : 0.0f; }",
            "__device__ __forceinline__ float md_positive_mask(float x) { return x > 0.0f ? 1.0f : 0.0f; }",
            "__device__ __forceinline__ float md_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }",
            "__device__ __forceinline__ float md_tanh(float x) { return 1.0f - 2.0f / (expf(2.0f * x) + 1.0f); }",
            "",
            "// GELU, exact (PyTorch's default, BERT's): x*Phi(x) = 0.5*x*(1 + erf(x/sqrt(2))), and its derivative",
            "// Phi(x) + x*phi(x) with phi(x) = exp(-x*x/2)/sqrt(2*pi). erff is CUDA's (max 2 ulp).",
            "#define MD_SQRT1_2 0.7071067811865476f",
            "#define MD_INV_SQRT_2PI 0.3989422804014327f",
            "__device__ __forceinline__ float md_gelu(float x) { return 0.5f * x * (1.0f + erff(x * MD_SQRT1_2)); }",
            "__device__ __forceinline__ float md_gelu_grad(float x)",
            "{",
            "    return 0.5f * (1.0f + erff(x * MD_SQRT1_2)) + x * MD_INV_SQRT_2PI * expf(-0.5f * x * x);",
            "}",
            "",
            "// GELU, tanh approximation (GPT-2's; PyTorch approximate='tanh'), and its derivative.",
            "#define MD_GELU_K 0.7978845608028654f",
            "#define MD_GELU_C 0.044715f",
            "__device__ __forceinline__ float md_gelu_tanh(float x) { return 0.5f * x * (1.0f + md_tanh(MD_GELU_K * (x + MD_GELU_C * x * x * x))); }",
            "__device__ __forceinline__ float md_gelu_tanh_grad(float x)",
            "{",
            "    float t = md_tanh(MD_GELU_K * (x + MD_GELU_C * x * x * x));",
            "    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * MD_GELU_K * (1.0f + 3.0f * MD_GELU_C * x * x);",
            "}",
            "__device__ __forceinline__ float md_silu(float x) { return x * md_sigmoid(x); }",
            "__device__ __forceinline__ float md_silu_grad(float x)",
            "{",
            "    float s = md_sigmoid(x);",
            "    return s * (1.0f + x * (1.0f - s));",
            "}",
            "// e^min(x, 0) - 1: elu's negative branch (0 for x > 0; finite for any x).",
            "__device__ __forceinline__ float md_negative_exp_m1(float x) { return expf(fminf(x, 0.0f)) - 1.0f; }",
            "",
            "// Dropout: a counter-based generator (lowbias32 hash), the same function of (seed, element) as the CPU",
            "// backend's CounterRng, so backward regenerates the forward mask instead of storing it and both backends",
            "// draw identical masks. Element i is kept (and scaled by 1/(1-p)) when its uniform draw is at least p.",
            "__device__ __forceinline__ unsigned int md_hash(unsigned int x)",
            "{",
            "    x ^= x >> 16;",
            "    x *= 0x7feb352du;",
            "    x ^= x >> 15;",
            "    x *= 0x846ca68bu;",
            "    x ^= x >> 16;",
            "    return x;",
            "}",
            "__device__ __forceinline__ float md_dropout_mask(unsigned int seed, unsigned int i, float p, float scale)",
            "{",
            "    float u = (float)(md_hash(i * 0x9E3779B9u ^ md_hash(seed)) >> 8) * (1.0f / 16777216.0f);",
            "    return u >= p ? scale : 0.0f;",
            "}",
            "",
            "// Warp-wide reductions: every lane ends with the result.",
            "__device__ __forceinline__ float md_warp_sum(float v)",
            "{",
            "    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);",
            "    return v;",
            "}",
            "__device__ __forceinline__ float md_warp_max(float v)",
            "{",
            "    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));",
            "    return v;",
            "}",
        };

        private int Line(TextSpan span) => _source.GetLinePosition(span.Start).Line + 1;

        /// <param name="formulas">What a fused kernel writes (<see cref="ExpressionFormula"/>), under the line saying how it runs.</param>
        private void KernelHeader(string name, IEnumerable<Origin> origins, string what, IEnumerable<string>? formulas = null)
        {
            _w.Line();
            _w.Line($"// {name}: {what}");
            foreach (var formula in formulas ?? Enumerable.Empty<string>()) _w.Line("//     " + formula);
            foreach (var origin in origins) _w.Line($"//   {_fileName}:{Line(origin.Span)}  {origin.Description}");
        }

        private void Signature(string name, IReadOnlyList<CudaArgument> arguments)
        {
            _w.Line($"extern \"C\" __global__ void __launch_bounds__({BlockSize}) {name}(");
            _w.Indent++;
            for (int k = 0; k < arguments.Count; k++) _w.Line(arguments[k].Declaration + (k == arguments.Count - 1 ? ")" : ","));
            _w.Indent--;
        }

        internal static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

        internal static string ShapeText(Dim rows, Dim cols) => $"[{rows.ToExpression()}, {cols.ToExpression()}]";
    }
}
