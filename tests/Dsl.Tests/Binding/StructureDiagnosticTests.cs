using ModelDsl.Dsl.Tests.Support;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>One test per MDL02xx diagnostic.</summary>
    public class StructureDiagnosticTests
    {
        [Fact]
        public void MDL0200_model_without_input()
        {
            var d = AnnotatedText.AssertDiagnostics(
                "model ⟦⟦⟦⟦M⟧⟧⟧⟧ { }", "MDL0200", "MDL0201", "MDL0202", "MDL0203");
            Assert.Contains("model 'M' has no input", d[0].Message);
        }

        [Fact]
        public void MDL0201_model_without_output()
        {
            var d = AnnotatedText.AssertDiagnostics(Head + "model ⟦M⟧ {\n    input x: f32[B, 784]\n    label y: i32[B]\n    logits = x -> dense(classes)\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}", "MDL0201");
            Assert.Contains("model 'M' has no output; add 'output <name>'", d[0].Message);
        }

        [Fact]
        public void MDL0202_model_without_loss_is_a_warning()
        {
            var d = AnnotatedText.AssertDiagnostics("model ⟦M⟧ {\n    input x: f32[B, 4]\n    h = x -> dense(2)\n    output h\n    optimizer adam()\n}", "MDL0202");
            Assert.Contains("has no loss", d[0].Message);
            Assert.False(d[0].IsError);
        }

        [Fact]
        public void MDL0203_model_without_optimizer_is_a_warning()
        {
            var d = AnnotatedText.AssertDiagnostics("model ⟦M⟧ {\n    input x: f32[B, 4]\n    label y: f32[B, 2]\n    h = x -> dense(2)\n    output h\n    loss mse(h, y)\n}", "MDL0203");
            Assert.Contains("has no optimizer", d[0].Message);
            Assert.False(d[0].IsError);
        }

        [Fact]
        public void MDL0204_declaration_given_twice()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("optimizer adam(lr=1e-3)", "optimizer adam(lr=1e-3)\n    ⟦optimizer sgd(lr=0.1)⟧"), "MDL0204");
            Assert.Contains("only one optimizer is allowed; the first is on line", d[0].Message);
        }

        [Fact]
        public void MDL0218_an_output_declared_twice()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    h = x -> dense(8)\n    logits = h -> dense(classes)\n    output h").Replace("    output logits\n", "    output logits\n    output ⟦h⟧\n"), "MDL0218");
            Assert.Contains("'h' is already an output (line 7); each output names a different value", d[0].Message);
        }

        [Fact]
        public void MDL0218_two_unnamed_outputs_share_the_name_output()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)\n    output x -> dense(3)").Replace("    output logits\n", "    output ⟦x -> dense(4)⟧\n"), "MDL0218");
            Assert.Contains("'output' is already an output (line 6); each output names a different value (bind an expression to a name first", d[0].Message);
        }

        [Fact]
        public void MDL0219_a_label_declared_as_an_output()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)\n    output ⟦y⟧"), "MDL0219");
            Assert.Contains("'y' is a label: the caller provides it for the loss, so it cannot be an output", d[0].Message);
        }

        [Fact]
        public void MDL0205_unknown_loss()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("loss cross_entropy", "loss ⟦cross_entropi⟧"), "MDL0205");
            Assert.Contains("'cross_entropi' is not a loss; did you mean 'cross_entropy'?", d[0].Message);
        }

        [Fact]
        public void MDL0206_unknown_optimizer()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("optimizer adam", "optimizer ⟦adan⟧"), "MDL0206");
            Assert.Contains("'adan' is not an optimizer; did you mean 'adam'?", d[0].Message);
        }

        [Fact]
        public void MDL0207_unknown_element_type()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("input x: f32", "input x: ⟦f64⟧"), "MDL0207");
            Assert.Contains("'f64' is not an element type; use f32", d[0].Message);
        }

        [Fact]
        public void MDL0208_label_used_outside_the_loss()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)\n    z = embedding(⟦y⟧, 10, 4)"), "MDL0208");
            Assert.Contains("'y' is a label and can only be read by the loss", d[0].Message);
        }

        [Fact]
        public void MDL0209_invalid_dimension()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("f32[B, 784]", "f32[B, ⟦hidden - 64⟧]"), "MDL0209");
            Assert.Contains("a dimension must be at least 1, but 'hidden-64' is 0", d[0].Message);
        }

        [Fact]
        public void MDL0210_statement_not_allowed_in_a_block()
        {
            var d = AnnotatedText.AssertDiagnostics("block Bad(x) {\n    ⟦output x⟧\n    return x\n}\n" + Model("    logits = x -> Bad -> dense(classes)"), "MDL0210");
            Assert.Contains("'output' is not allowed in a block", d[0].Message);
        }

        [Fact]
        public void MDL0211_block_without_return()
        {
            var d = AnnotatedText.AssertDiagnostics("block ⟦NoReturn⟧(x) {\n    h = x -> relu\n}\n" + Model("    logits = x -> dense(classes)"), "MDL0211");
            Assert.Contains("block 'NoReturn' has no return", d[0].Message);
        }

        [Fact]
        public void MDL0212_model_or_block_defined_twice()
        {
            var d = AnnotatedText.AssertDiagnostics("block M(x) { return x }\n" + Model("    logits = x -> dense(classes)").Replace("model M", "model ⟦M⟧"), "MDL0212");
            Assert.Contains("a model or block named 'M' is already defined on line 1", d[0].Message);
        }

        [Theory]
        [InlineData("Forward", "every generated class has a member 'Forward'")]
        [InlineData("Step", "every generated class has a member 'Step'")]
        [InlineData("Workspace", "every generated class has a member 'Workspace'")]
        [InlineData("var", "generated code writes 'var' as a type keyword")]
        [InlineData("nuint", "generated code writes 'nuint' as a type keyword")]
        public void MDL0214_model_name_taken_by_generated_code(string name, string reason)
        {
            // A member cannot share its class's name (CS0542), and a class named var would be the type of every `var w = ...`.
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("model M", $"model ⟦{name}⟧"), "MDL0214");
            Assert.Contains($"a model cannot be named '{name}'", d[0].Message);
            Assert.Contains(reason, d[0].Message);
        }

        [Theory]
        [InlineData("Metrics")]
        [InlineData("Activations")]
        [InlineData("Tensor")]
        [InlineData("class")]
        [InlineData("record")]
        [InlineData("checked")]
        public void Runtime_type_names_and_csharp_keywords_are_model_names_like_any_other(string name)
        {
            // MDL0213 (retired) refused these: the generated code now uses global:: names and verbatim identifiers
            // (tests/Generator.Tests/Training/NamingTests.cs builds and trains such models).
            AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("model M", $"model {name}"));
        }
    }
}
