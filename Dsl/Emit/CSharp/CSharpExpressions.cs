using System.Collections.Generic;
using System.Linq;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The C# op map of a fused loop (<see cref="ExpressionDialect"/>): the Vector256 body (<c>v3</c> locals, eight
    /// elements at a time) and its scalar tail (<c>s3</c> locals), over the <c>ref</c> locals the loop binds to each buffer
    /// at element index <c>i</c> and column <c>c</c>. Each unary op is the runtime's function of the same name
    /// (<c>ModelDsl.Runtime.Cpu.Activations</c>, with a Vector256 and a float overload).
    /// </summary>
    internal static class CSharpExpressions
    {
        private const string Vector = "global::System.Runtime.Intrinsics.Vector256";

        private static readonly IReadOnlyDictionary<UnaryOp, string> Functions =
            System.Enum.GetValues(typeof(UnaryOp)).Cast<UnaryOp>().ToDictionary(op => op, op => "global::ModelDsl.Runtime.Cpu.Activations." + op);

        /// <param name="name">The loop's local for a buffer.</param>
        /// <param name="dropout">The loop's locals for a dropout slot: its seed, probability and scale (the vector body adds <c>v</c>).</param>
        public static ExpressionDialect VectorBody(System.Func<PlanBuffer, string> name, System.Func<DropoutMaskExpr, (string Seed, string P, string Scale)> dropout) =>
            new ExpressionDialect("v", (local, value) => $"var {local} = {value};",
                value => $"{Vector}.Create({Literals.CSharp(value)})",
                load => $"{Vector}.LoadUnsafe(ref {name(load.Buffer)}, {(load.Broadcast == Broadcast.Column ? "(nuint)c" : "i")})",
                Functions,
                mask =>
                {
                    var (seed, p, scale) = dropout(mask);
                    return $"global::ModelDsl.Runtime.Cpu.Dropout.Mask({seed}, (int)i, v{p}, v{scale})";
                });

        /// <inheritdoc cref="VectorBody"/>
        public static ExpressionDialect ScalarTail(System.Func<PlanBuffer, string> name, System.Func<DropoutMaskExpr, (string Seed, string P, string Scale)> dropout) =>
            new ExpressionDialect("s", (local, value) => $"var {local} = {value};",
                Literals.CSharp,
                load => $"global::System.Runtime.CompilerServices.Unsafe.Add(ref {name(load.Buffer)}, {(load.Broadcast == Broadcast.Column ? "c" : "(nint)i")})",
                Functions,
                mask =>
                {
                    var (seed, p, scale) = dropout(mask);
                    return $"global::ModelDsl.Runtime.Cpu.Dropout.Mask({seed}, (int)i, {p}, {scale})";
                });
    }
}
