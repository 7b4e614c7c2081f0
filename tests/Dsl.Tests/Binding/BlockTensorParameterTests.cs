using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// Tensor block parameters (<c>block Layer(x, mask: i32[B, T], heads)</c>, docs/language.md "Tensor parameters"): the
    /// argument reaches every repetition of a <c>repeat</c>, each use is checked against the declared type at its
    /// arguments, and a tensor where a constant is expected (and the reverse) is reported at the argument.
    /// </summary>
    public class BlockTensorParameterTests
    {
        private const string EncoderLayer =
            "block EncoderLayer(x: f32[B, T, d], mask: i32[B, T], heads) {\n"
            + "    a = x -> attention(heads, mask=mask)\n"
            + "    h = (x + a) -> layer_norm\n"
            + "    return h\n"
            + "}\n";

        private static string Model(string inputs, string body) =>
            "config { d = 8 }\n" + EncoderLayer
            + "model M {\n    input x: f32[B, T, d]\n" + inputs + "    label y: f32[B, T, d]\n" + body
            + "\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";

        [Fact]
        public void The_mask_input_reaches_the_attention_of_every_repetition()
        {
            var g = ShapeInferenceTests.Check(Model("    input mask: i32[B, T]\n", "    h = x -> repeat 3 EncoderLayer(mask, 2)"));
            var mask = g.Inputs.Single(i => i.Name == "mask");
            var attentions = g.Nodes.Where(n => n.Kind == OpKind.Attention).ToList();
            Assert.Equal(3, attentions.Count);
            Assert.All(attentions, a => Assert.Same(mask, a.Inputs[1]));
            // each repetition its own parameters, named as before
            Assert.Equal(new[] { "h.0.a", "h.1.a", "h.2.a" }, attentions.Select(a => a.LayerPath));
            Assert.Equal("f32[B, T, 8]", g.Output.DType.ToString().ToLowerInvariant() + g.Output.Shape.ToExpression());
        }

        [Fact]
        public void A_computed_tensor_argument_is_read_by_every_repetition_and_nested_blocks_pass_it_on()
        {
            var source = "block Mix(x, c: f32[B, 4]) {\n    return x + (c -> dense(4))\n}\n"
                + "block Twice(x, c: f32[B, 4]) {\n    return x -> Mix(c) -> Mix(c)\n}\n"
                + "model M {\n    input x: f32[B, 4]\n    label y: f32[B, 4]\n    c = x -> dense(4) -> tanh\n"
                + "    h = x -> repeat 2 Twice(c)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";
            var g = ShapeInferenceTests.Check(source);
            var c = g.Nodes.Single(n => n.LayerPath == "c.1").Output;
            // four dense layers inside the blocks, each reading the same c
            var inner = g.Nodes.Where(n => n.Kind == OpKind.Dense && n.LayerPath != "c.0").ToList();
            Assert.Equal(4, inner.Count);
            Assert.All(inner, n => Assert.Same(c, n.Inputs[0]));
        }

        [Fact]
        public void MDL0114_a_tensor_passed_to_an_untyped_parameter_is_reported_at_the_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    input mask: i32[B, T]\n", "    h = x -> EncoderLayer(mask, ⟦mask⟧)"), "MDL0114");
            Assert.Contains("EncoderLayer needs a constant for 'heads', but got a tensor ('mask')", d[0].Message);
            Assert.Contains("declared with its type", d[0].Message);
        }

        [Fact]
        public void MDL0107_a_constant_passed_to_a_tensor_parameter_is_reported_at_the_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("", "    h = x -> EncoderLayer(⟦1⟧, 2)"), "MDL0107");
            Assert.Contains("EncoderLayer expects a tensor for 'mask', but got an integer", d[0].Message);
        }

        [Fact]
        public void MDL0322_the_element_type_is_checked_at_the_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    input f: f32[B, T]\n", "    h = x -> EncoderLayer(⟦f⟧, 2)"), "MDL0322");
            Assert.Contains("EncoderLayer expects 'mask' to be i32[B, T], but f is f32[B, T]", d[0].Message);
        }

        [Fact]
        public void MDL0322_a_symbol_set_by_an_earlier_argument_must_match_and_the_message_says_where_it_was_set()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    input n: i32[B, 5]\n", "    h = x -> repeat 2 EncoderLayer(⟦n⟧, 2)"), "MDL0322");
            Assert.Contains("EncoderLayer expects 'mask' to be i32[B, T] (T = T from 'x'), but n is i32[B, 5]", d[0].Message);
        }

        [Fact]
        public void MDL0322_rank_and_a_constant_dimension_are_checked_for_the_first_parameter_too()
        {
            var source = "config { d = 8 }\n" + EncoderLayer
                + "model M {\n    input x: f32[B, T, 6]\n    input z: f32[B, T, 8]\n    input mask: i32[B, T]\n    input w: i32[B]\n    label y: f32[B, T, 6]\n"
                + "    h = ⟦x⟧ -> EncoderLayer(mask, 2)\n    g = z -> EncoderLayer(⟦w⟧, 2)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";
            var d = AnnotatedText.AssertDiagnostics(source, "MDL0322", "MDL0322");
            Assert.Contains("EncoderLayer expects 'x' to be f32[B, T, d], but x is f32[B, T, 6]", d[0].Message);
            Assert.Contains("EncoderLayer expects 'mask' to be i32[B, T], but w is i32[B]", d[1].Message);
        }

        [Fact]
        public void MDL0326_a_tensor_parameter_with_a_default_or_arithmetic_over_a_symbol_is_reported_once_at_the_block()
        {
            var source = "block Pair(x, m: f32[B, ⟦2*T⟧], k: f32[B] = ⟦3⟧) {\n    return x\n}\n"
                + "model M {\n    input x: f32[B, 4]\n    input m: f32[B, 6]\n    input k: f32[B]\n    label y: f32[B, 4]\n"
                + "    h = x -> Pair(m, k) -> Pair(m, k)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";
            var d = AnnotatedText.AssertDiagnostics(source, "MDL0326", "MDL0326");
            Assert.Contains("tensor parameter 'm' of block Pair: a dimension is a number, a single name", d[0].Message);
            Assert.Contains("'2*T' computes with the symbol T", d[0].Message);
            Assert.Contains("tensor parameter 'k' of block Pair: a tensor parameter takes no default", d[1].Message);
        }

        [Fact]
        public void MDL0207_an_unknown_element_type_in_a_parameter_type()
        {
            var source = "block L(x, m: ⟦f16⟧[B]) {\n    return x\n}\n"
                + "model M {\n    input x: f32[B, 4]\n    input m: f32[B]\n    label y: f32[B, 4]\n"
                + "    h = x -> L(m)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";
            AnnotatedText.AssertDiagnostics(source, "MDL0207");
        }

        [Fact]
        public void A_constant_or_an_untyped_parameter_gives_a_dimension_its_value()
        {
            var source = "block L(x, m: f32[B, n], n) {\n    return x + (m -> dense(4))\n}\n"
                + "model M {\n    input x: f32[B, 4]\n    input m: f32[B, 6]\n    label y: f32[B, 4]\n"
                + "    h = x -> L(m, 6)\n    g = x -> L(⟦m⟧, 5)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n";
            var d = AnnotatedText.AssertDiagnostics(source, "MDL0322");
            Assert.Contains("L expects 'm' to be f32[B, n], but m is f32[B, 6]", d[0].Message);
        }
    }
}
