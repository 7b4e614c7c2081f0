using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Plan
{
    /// <summary>Where a kernel comes from: the .model span and a short description of the op with its shapes.</summary>
    public sealed class Origin
    {
        public Origin(TextSpan span, string description)
        {
            Span = span;
            Description = description;
        }

        public TextSpan Span { get; }

        /// <summary>e.g. <c>logits.0 = dense(256)  [B, 784] -> [B, 256]</c>.</summary>
        public string Description { get; }
    }

    /// <summary>
    /// One unit of work in a training plan. Both backends render the same kernels, so the fusion decisions are
    /// made once: the generated C# runs each as a loop or a runtime call, the generated CUDA C as a kernel launch.
    /// </summary>
    public abstract class Kernel
    {
        protected Kernel(string name, IReadOnlyList<Origin> origins)
        {
            Name = name;
            Origins = origins;
        }

        /// <summary>Unique within the plan, usable as an identifier: <c>fwd_2_relu</c>.</summary>
        public string Name { get; }

        public IReadOnlyList<Origin> Origins { get; }

        /// <summary>
        /// For a layer kernel: the runtime calls it is, as its op's rule states them (<c>OpRule.Calls</c>); the emitters
        /// render these without code of their own for the op. Null for GEMMs, fused loops and views.
        /// </summary>
        public LayerCalls? Calls { get; internal set; }
    }

    /// <summary>
    /// <c>C (+)= op(A) · op(B)</c>, row-major. A is [M, K] ([K, M] when transposed), B is [K, N] ([N, K] when transposed),
    /// C is [M, N]. Dimensions may be symbolic (M = B*T for a dense layer over a sequence).
    /// </summary>
    public sealed class GemmKernel : Kernel
    {
        public GemmKernel(string name, IReadOnlyList<Origin> origins, bool transA, bool transB, Dim m, Dim n, Dim k, PlanBuffer a, PlanBuffer b, PlanBuffer c, bool accumulate)
            : base(name, origins)
        {
            TransA = transA;
            TransB = transB;
            M = m;
            N = n;
            K = k;
            A = a;
            B = b;
            C = c;
            Accumulate = accumulate;
        }

        public bool TransA { get; }
        public bool TransB { get; }
        public Dim M { get; }
        public Dim N { get; }
        public Dim K { get; }
        public PlanBuffer A { get; }
        public PlanBuffer B { get; }
        public PlanBuffer C { get; }

        /// <summary>True: C += product (beta = 1); false: C = product (beta = 0, C not read).</summary>
        public bool Accumulate { get; }
    }

    /// <summary>Writes (or adds) <see cref="Value"/> to every element of <see cref="Target"/>.</summary>
    public sealed class ElementwiseOutput
    {
        public ElementwiseOutput(PlanBuffer target, Expr value, bool accumulate)
        {
            Target = target;
            Value = value;
            Accumulate = accumulate;
        }

        public PlanBuffer Target { get; }
        public Expr Value { get; }
        public bool Accumulate { get; }
    }

    /// <summary>Sums <see cref="Value"/> over the rows into a [cols] vector (a bias gradient), in the same pass.</summary>
    public sealed class ColumnSumOutput
    {
        public ColumnSumOutput(PlanBuffer target, Expr value, bool accumulate)
        {
            Target = target;
            Value = value;
            Accumulate = accumulate;
        }

        public PlanBuffer Target { get; }
        public Expr Value { get; }
        public bool Accumulate { get; }
    }

    /// <summary>
    /// A fused elementwise loop over a [Rows, Cols] domain: every output expression evaluated per element in one
    /// pass over memory (bias + activation + dropout; an activation's backward with the bias gradient).
    /// </summary>
    public sealed class ElementwiseKernel : Kernel
    {
        public ElementwiseKernel(string name, IReadOnlyList<Origin> origins, Dim rows, Dim cols, IReadOnlyList<ElementwiseOutput> outputs, IReadOnlyList<ColumnSumOutput> columnSums)
            : base(name, origins)
        {
            Rows = rows;
            Cols = cols;
            Outputs = outputs;
            ColumnSums = columnSums;
        }

        public Dim Rows { get; }
        public Dim Cols { get; }
        public IReadOnlyList<ElementwiseOutput> Outputs { get; }
        public IReadOnlyList<ColumnSumOutput> ColumnSums { get; }

        /// <summary>True when any expression draws a dropout mask (the kernel behaves differently in training).</summary>
        public bool UsesDropout { get; internal set; }
    }

    /// <summary>
    /// The loss and its gradient in one pass: mean over all rows (and positions). For cross-entropy the softmax is
    /// computed once per row and never stored: loss += logsumexp - logit[label]; dlogits = (softmax - onehot) / rows.
    /// With label smoothing ε the target is q = (1 − ε)·onehot + ε/C: loss += logsumexp − (1 − ε)·logit[label] − ε·mean(logits),
    /// dlogits = (softmax − q) / rows.
    /// </summary>
    public sealed class LossKernel : Kernel
    {
        public LossKernel(string name, IReadOnlyList<Origin> origins, LossKind kind, PlanBuffer prediction, PlanBuffer target, PlanBuffer? predictionGradient, Dim rows, Dim cols,
            double labelSmoothing = 0)
            : base(name, origins)
        {
            Kind = kind;
            LabelSmoothing = labelSmoothing;
            Prediction = prediction;
            Target = target;
            PredictionGradient = predictionGradient;
            Rows = rows;
            Cols = cols;
        }

        public LossKind Kind { get; }
        public PlanBuffer Prediction { get; }
        public PlanBuffer Target { get; }

        /// <summary>Where d loss / d prediction goes; null when only the loss value is wanted.</summary>
        public PlanBuffer? PredictionGradient { get; }

        /// <summary>Rows: every leading dimension; Cols: classes for cross-entropy, the last dimension otherwise.</summary>
        public Dim Rows { get; }
        public Dim Cols { get; }

        /// <summary>cross_entropy's label smoothing ε in [0, 1]; 0 for none and for the other losses.</summary>
        public double LabelSmoothing { get; }
    }
}
