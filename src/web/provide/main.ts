console.log("provide")
