package statements

// PDFToText is pdfToText for the tests of package statements_test.
var PDFToText = pdfToText
