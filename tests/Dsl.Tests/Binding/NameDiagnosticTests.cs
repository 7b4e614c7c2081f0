using ModelDsl.Dsl.Tests.Support;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>One test per MDL01xx diagnostic: the span is marked with ⟦ ⟧ and the key message words checked.</summary>
    public class NameDiagnosticTests
    {
        // A model that checks cleanly; tests insert one mistake into it.
        internal const string Head = "config { hidden = 64  classes = 10 }\n";
        internal const string Tail = "    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam(lr=1e-3)\n}";

        internal static string Model(string body) =>
            Head + "model M {\n    input x: f32[B, 784]\n    label y: i32[B]\n" + body + "\n" + Tail;

        [Fact]
        public void MDL0100_undefined_name_suggests_the_closest()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(⟦hiden⟧) -> relu -> dense(classes)"), "MDL0100");
            Assert.Contains("'hiden' is not defined; did you mean 'hidden'?", d[0].Message);
        }

        [Fact]
        public void MDL0100_used_before_definition()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = ⟦h⟧ -> dense(classes)\n    h = x -> dense(hidden)"), "MDL0100");
            Assert.Contains("used before its definition on line 6", d[0].Message);
        }

        [Fact]
        public void MDL0101_name_defined_twice()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    h = x -> dense(hidden)\n    ⟦h⟧ = x -> dense(hidden)\n    logits = h -> dense(classes)"), "MDL0101");
            Assert.Contains("'h' is already defined on line 5", d[0].Message);
        }

        [Fact]
        public void MDL0102_unknown_layer()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> ⟦dens⟧(classes)"), "MDL0102");
            Assert.Contains("'dens' is not a layer or block; did you mean 'dense'?", d[0].Message);
        }

        [Fact]
        public void MDL0103_unknown_named_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes, ⟦biass⟧=false)"), "MDL0103");
            Assert.Contains("dense has no argument named 'biass'", d[0].Message);
            Assert.Contains("units, bias, tie", d[0].Message);
        }

        [Fact]
        public void MDL0104_missing_argument()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> ⟦dense()⟧"), "MDL0104");
            Assert.Contains("dense requires the argument 'units'", d[0].Message);
        }

        [Fact]
        public void MDL0105_too_many_arguments()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> relu(⟦5⟧) -> dense(classes)"), "MDL0105");
            Assert.Contains("relu takes at most 0 positional argument(s)", d[0].Message);
        }

        [Fact]
        public void MDL0106_argument_given_twice()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes, ⟦units⟧=10)"), "MDL0106");
            Assert.Contains("'units' is given more than once", d[0].Message);
        }

        [Fact]
        public void MDL0107_argument_of_the_wrong_kind()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(⟦2.5⟧)"), "MDL0107");
            Assert.Contains("dense expects an integer for 'units', but got a real number", d[0].Message);
        }

        [Fact]
        public void MDL0107_a_word_argument_outside_its_words()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes) -> gelu(approximate=⟦\"erf\"⟧)"), "MDL0107");
            Assert.Contains("gelu expects \"none\" or \"tanh\" for 'approximate', but got the string \"erf\"", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes) -> gelu(approximate=⟦1⟧)"), "MDL0107");
            Assert.Contains("gelu expects \"none\" or \"tanh\" for 'approximate', but got", d[0].Message);
        }

        [Fact]
        public void MDL0108_argument_out_of_range()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dropout(⟦1.5⟧) -> dense(classes)"), "MDL0108");
            Assert.Contains("dropout expects 'p' in [0, 1), but it is 1.5", d[0].Message);
        }

        [Theory]
        [InlineData("1")]
        [InlineData("-0.1")]
        public void MDL0108_attention_dropout_out_of_range_is_located_on_the_value(string p)
        {
            var d = AnnotatedText.AssertDiagnostics(
                "model M {\n    input x: f32[B, T, 8]\n    label y: f32[B, T, 8]\n    a = x -> attention(2, dropout=⟦" + p + "⟧)\n    output a\n    loss mse(a, y)\n    optimizer adam()\n}", "MDL0108");
            Assert.Contains("attention expects 'dropout' in [0, 1), but it is " + p, d[0].Message);
        }

        [Fact]
        public void MDL0109_block_uses_itself()
        {
            var d = AnnotatedText.AssertDiagnostics(
                "block A(x) { return x -> B }\nblock B(x) { return x -> ⟦A⟧ }\n" + Model("    logits = x -> A -> dense(classes)"), "MDL0109");
            Assert.Contains("block uses itself: A -> B -> A", d[0].Message);
            Assert.Contains("used on line", d[0].Message);
        }

        [Fact]
        public void MDL0110_invalid_repeat_count()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> repeat ⟦2000⟧ relu -> dense(classes)"), "MDL0110");
            Assert.Contains("from 1 to 1024, but it is 2000", d[0].Message);
        }

        [Fact]
        public void MDL0111_value_never_used_is_a_warning()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    ⟦unused⟧ = x -> relu\n    logits = x -> dense(classes)"), "MDL0111");
            Assert.Contains("'unused' is computed but never used", d[0].Message);
            Assert.False(d[0].IsError);
        }

        [Fact]
        public void MDL0112_model_too_large()
        {
            // 101 uses × 1000 relus: the 100,001st op is reported, inside the block, and expansion stops.
            var d = AnnotatedText.AssertDiagnostics(
                "block Wide(x) { return x -> repeat 1000 ⟦relu⟧ }\n" + Model("    logits = x -> repeat 101 Wide -> dense(classes)"),
                "MDL0112");
            Assert.Contains("more than 100000 operations", d[0].Message);
        }

        [Fact]
        public void MDL0113_symbolic_dimension_one_edit_from_a_constant()
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, ⟦hiddn⟧]\n    label y: i32[B]\n    logits = x -> relu\n" + Tail,
                "MDL0113");
            Assert.Contains("'hiddn' is treated as a symbolic dimension; did you mean the config constant 'hidden'?", d[0].Message);
        }

        [Fact]
        public void MDL0114_value_must_be_constant()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(⟦B⟧)"), "MDL0114");
            Assert.Contains("dense needs a constant for 'units', but got a symbolic dimension", d[0].Message);
        }

        [Fact]
        public void MDL0115_unknown_layer_parameter()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    h = x -> dense(hidden)\n    logits = h -> dense(784, tie=h.⟦wieght⟧)"), "MDL0115");
            Assert.Contains("'h' has no parameter 'wieght'; it has: weight, bias", d[0].Message);
        }

        [Fact]
        public void MDL0116_division_by_zero()
        {
            var d = AnnotatedText.AssertDiagnostics("config { zero = 0  bad = ⟦4/zero⟧ }\n" + Model("    logits = x -> dense(classes)"), "MDL0116");
            Assert.Contains("'4/zero' divides by zero", d[0].Message);
        }
    }
}
