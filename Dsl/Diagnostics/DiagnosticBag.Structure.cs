using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // MDL02xx: the structure of models and blocks. Message text for these IDs lives only here.
    public sealed partial class DiagnosticBag
    {
        public void ReportMissingInput(TextSpan span, string model) =>
            Report(DiagnosticCatalog.MissingInput, span, $"model '{model}' has no input; declare one, e.g. 'input x: f32[B, 784]'");

        public void ReportMissingOutput(TextSpan span, string model) =>
            Report(DiagnosticCatalog.MissingOutput, span, $"model '{model}' has no output; add 'output <name>'");

        public void ReportMissingLoss(TextSpan span, string model) =>
            Report(DiagnosticCatalog.MissingLoss, span, $"model '{model}' has no loss, so it can predict but not train");

        public void ReportMissingOptimizer(TextSpan span, string model) =>
            Report(DiagnosticCatalog.MissingOptimizer, span, $"model '{model}' has no optimizer, so it can predict but not train");

        /// <summary>MDL0218: a second <c>output</c> of a value already declared an output (outputs are named by their values).</summary>
        public void ReportDuplicateOutput(TextSpan span, string name, int firstLine) =>
            Report(DiagnosticCatalog.DuplicateOutput, span, $"'{name}' is already an output (line {firstLine}); each output names a different value (bind an expression to a name first: 'pooled = ...' then 'output pooled')");

        /// <summary>MDL0219: <c>output y</c> where <c>y</c> is a label.</summary>
        public void ReportOutputIsLabel(TextSpan span, string name) =>
            Report(DiagnosticCatalog.OutputIsLabel, span, $"'{name}' is a label: the caller provides it for the loss, so it cannot be an output; output what the network computes (the loss's prediction)");

        public void ReportDuplicateDeclaration(TextSpan span, string what, int firstLine) =>
            Report(DiagnosticCatalog.DuplicateDeclaration, span, $"only one {what} is allowed; the first is on line {firstLine}");

        public void ReportUnknownLoss(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UnknownLoss, span, $"'{name}' is not a loss{DidYouMean(suggestion)} (losses: mse, bce_with_logits, cross_entropy)");

        public void ReportUnknownOptimizer(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UnknownOptimizer, span, $"'{name}' is not an optimizer{DidYouMean(suggestion)} (optimizers: sgd, adam, adamw, rmsprop)");

        public void ReportUnknownDType(TextSpan span, string name) =>
            Report(DiagnosticCatalog.UnknownDType, span, $"'{name}' is not an element type; use f32 (real values) or i32 (class or token ids)");

        public void ReportLabelOutsideLoss(TextSpan span, string name) =>
            Report(DiagnosticCatalog.LabelOutsideLoss, span, $"'{name}' is a label and can only be read by the loss; declare it with 'input' to use it in the network");

        public void ReportInvalidDimension(TextSpan span, string reason) =>
            Report(DiagnosticCatalog.InvalidDimension, span, reason);

        public void ReportStatementNotAllowed(TextSpan span, string statement, string where) =>
            Report(DiagnosticCatalog.StatementNotAllowed, span, $"'{statement}' is not allowed in {where}");

        public void ReportMissingReturn(TextSpan span, string block) =>
            Report(DiagnosticCatalog.MissingReturn, span, $"block '{block}' has no return; end it with 'return <value>'");

        /// <param name="reason">Why generated code needs the name: "every generated class has a member 'Step' (...)", "generated code declares its locals with 'var' (...)".</param>
        public void ReportModelNameTaken(TextSpan span, string name, string reason) =>
            Report(DiagnosticCatalog.ModelNameTaken, span, $"a model cannot be named '{name}': the model's name is the generated class's name, and {reason}; choose another name");

        public void ReportDuplicateModel(TextSpan span, string name, int firstLine) =>
            Report(DiagnosticCatalog.DuplicateModel, span, $"a model or block named '{name}' is already defined on line {firstLine}");
    }
}
