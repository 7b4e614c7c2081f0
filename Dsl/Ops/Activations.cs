using System;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Ops
{
    /// <summary>
    /// relu, sigmoid, tanh, silu: elementwise on an f32 tensor, same shape, no parameters. Each is one entry: its
    /// forward and backward expressions (fused into the loop of the op before it), FLOPs per element, ONNX nodes. The
    /// kernels are the functions the expressions call: <c>Runtime/Cpu/Activations.cs</c> and the CUDA prelude's <c>md_*</c>.
    /// gelu has an argument, so it has a file of its own (<c>Gelu.cs</c>).
    /// </summary>
    internal sealed class Activation : OpRule<NoAttributes>
    {
        private static readonly Expr One = Const(1f);
        private readonly ElementwiseRule _rule;
        private readonly long _forwardFlops, _backwardFlops;
        private readonly Action<IOnnxContext, OpNode> _onnx;

        private Activation(string name, OpKind kind, ElementwiseRule rule, long forwardFlops, long backwardFlops, Action<IOnnxContext, OpNode> onnx)
            : base(name, kind, new Signature(Signature.Tensor()))
        {
            _rule = rule;
            _forwardFlops = forwardFlops;
            _backwardFlops = backwardFlops;
            _onnx = onnx;
        }

        // y = max(x, 0)                      dx = g · [y > 0]
        public static readonly Activation Relu = new Activation("relu", OpKind.Relu,
            new ElementwiseRule(
                c => Unary(UnaryOp.Relu, c.Input(0)),
                (g, c) => new[] { Mul(g, Unary(UnaryOp.PositiveMask, c.Output)) },
                backwardReadsOutput: true),
            1, 1, (o, op) => o.Emit("Relu", new[] { o.Input(0) }, o.Output));

        // y = 1 / (1 + e^-x)                 dx = g · y · (1 - y)
        public static readonly Activation Sigmoid = new Activation("sigmoid", OpKind.Sigmoid,
            new ElementwiseRule(
                c => Unary(UnaryOp.Sigmoid, c.Input(0)),
                (g, c) => new[] { Mul(g, Mul(c.Output, Sub(One, c.Output))) },
                backwardReadsOutput: true),
            8, 10, (o, op) => o.Emit("Sigmoid", new[] { o.Input(0) }, o.Output));

        // y = tanh x                         dx = g · (1 - y²)
        public static readonly Activation Tanh = new Activation("tanh", OpKind.Tanh,
            new ElementwiseRule(
                c => Unary(UnaryOp.Tanh, c.Input(0)),
                (g, c) => new[] { Mul(g, Sub(One, Mul(c.Output, c.Output))) },
                backwardReadsOutput: true),
            8, 10, (o, op) => o.Emit("Tanh", new[] { o.Input(0) }, o.Output));

        // y = x · σ(x)                       dx = g · (σ(x) + x·σ(x)·(1 - σ(x)))
        // ONNX: Sigmoid then Mul (opset 20 has no Silu).
        public static readonly Activation Silu = new Activation("silu", OpKind.Silu,
            new ElementwiseRule(
                c => Unary(UnaryOp.Silu, c.Input(0)),
                (g, c) => new[] { Mul(g, Unary(UnaryOp.SiluGrad, c.Input(0))) },
                backwardReadsInput: true),
            8, 10, (o, op) =>
            {
                string output = o.Output;
                string sigmoid = o.Fresh(op.Output.Name + "/sigmoid");
                o.Emit("Sigmoid", new[] { o.Input(0) }, sigmoid);
                o.Emit("Mul", new[] { o.Input(0), sigmoid }, output);
            });

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.SetAttributes(NoAttributes.Instance);
            return c.InputShape;
        }

        public override Planning Planning => Planning.Elementwise;
        public override ElementwiseRule Elementwise => _rule;
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), _forwardFlops, _backwardFlops);
        public override void LowerOnnx(IOnnxContext o, OpNode op) => _onnx(o, op);
    }
}
