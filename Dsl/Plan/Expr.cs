using System.Globalization;

namespace ModelDsl.Plan
{
    /// <summary>
    /// A scalar expression evaluated per element of an <see cref="ElementwiseKernel"/>: the body of a fused loop.
    /// Each backend renders it (C#: Vector256 lanes plus a scalar tail; CUDA C: one thread per element).
    /// </summary>
    public abstract class Expr
    {
    }

    public enum Broadcast
    {
        /// <summary>Indexed like the kernel's domain: element (row, col).</summary>
        None,
        /// <summary>Indexed by column only: a bias vector added to every row.</summary>
        Column,
    }

    /// <summary>Reads a buffer at the current element.</summary>
    public sealed class LoadExpr : Expr
    {
        public LoadExpr(PlanBuffer buffer, Broadcast broadcast = Broadcast.None)
        {
            Buffer = buffer;
            Broadcast = broadcast;
        }

        public PlanBuffer Buffer { get; }
        public Broadcast Broadcast { get; }
    }

    public sealed class ConstExpr : Expr
    {
        public ConstExpr(float value) => Value = value;

        public float Value { get; }

        /// <summary>Round-trippable invariant text with the f suffix: <c>1.1111112f</c>.</summary>
        public string ToCSharp() => Value.ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    public enum UnaryOp
    {
        Relu,
        Sigmoid,
        Tanh,
        /// <summary>GELU, exact: ½x(1 + erf(x/√2)) (PyTorch's default, BERT's).</summary>
        Gelu,
        /// <summary>GELU, tanh approximation (GPT-2's; PyTorch's approximate='tanh').</summary>
        GeluTanh,
        Silu,
        /// <summary>1 where the argument is positive, else 0: ReLU's derivative written in terms of its output.</summary>
        PositiveMask,
        /// <summary>d gelu(x) / dx = Φ(x) + x·φ(x).</summary>
        GeluGrad,
        /// <summary>d gelu_tanh(x) / dx.</summary>
        GeluTanhGrad,
        /// <summary>d silu(x) / dx.</summary>
        SiluGrad,
        /// <summary>e^min(x, 0) − 1: elu's negative branch, 0 for x &gt; 0 and finite for any x.</summary>
        NegativeExpM1,
    }

    public sealed class UnaryExpr : Expr
    {
        public UnaryExpr(UnaryOp op, Expr operand)
        {
            Op = op;
            Operand = operand;
        }

        public UnaryOp Op { get; }
        public Expr Operand { get; }
    }

    public enum BinaryOp
    {
        Add,
        Subtract,
        Multiply,
    }

    public sealed class BinaryExpr : Expr
    {
        public BinaryExpr(BinaryOp op, Expr left, Expr right)
        {
            Op = op;
            Left = left;
            Right = right;
        }

        public BinaryOp Op { get; }
        public Expr Left { get; }
        public Expr Right { get; }
    }

    /// <summary>
    /// Dropout's scale for the current element: <c>1/(1-p)</c> where a counter-based uniform draw is at least p, else 0.
    /// The draw depends only on (step seed, slot, element index), so backward regenerates the mask instead of storing it.
    /// Outside training the mask is 1.
    /// </summary>
    public sealed class DropoutMaskExpr : Expr
    {
        public DropoutMaskExpr(int slot, float probability)
        {
            Slot = slot;
            Probability = probability;
        }

        /// <summary>Which dropout in the model (0, 1, ...): mixed into the seed so layers draw independent masks.</summary>
        public int Slot { get; }

        public float Probability { get; }
    }

    /// <summary>Small constructors so gradient rules read like formulas.</summary>
    public static class E
    {
        public static Expr Load(PlanBuffer b) => new LoadExpr(b);
        public static Expr Column(PlanBuffer b) => new LoadExpr(b, Broadcast.Column);
        public static Expr Const(float v) => new ConstExpr(v);
        public static Expr Add(Expr a, Expr b) => new BinaryExpr(BinaryOp.Add, a, b);
        public static Expr Sub(Expr a, Expr b) => new BinaryExpr(BinaryOp.Subtract, a, b);
        public static Expr Mul(Expr a, Expr b) => new BinaryExpr(BinaryOp.Multiply, a, b);
        public static Expr Unary(UnaryOp op, Expr a) => new UnaryExpr(op, a);
    }
}
